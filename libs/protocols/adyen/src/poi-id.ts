import { AdyenProtocolError } from './errors';

/** A payment terminal: POIID `[device model]-[serial number]`, e.g. `V400m-324688179`. */
export interface TerminalPoiId {
  readonly kind: 'terminal';
  readonly poiId: string;
  readonly model: string;
  readonly serial: string;
}

/** A Mobile SDK installation: the POIID is the installation id, e.g. `AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924`. */
export interface MobileSdkPoiId {
  readonly kind: 'mobile-sdk';
  readonly poiId: string;
  readonly installationId: string;
}

export type AdyenPoiId = TerminalPoiId | MobileSdkPoiId;

const TERMINAL_POIID = /^([A-Za-z0-9]+)-([A-Za-z0-9]+)$/;
// Only one installation id is documented (a UUID, a dot and a number); the suffix is accepted as any alphanumerics.
const INSTALLATION_ID =
  /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(\.[A-Za-z0-9]+)?$/;

/** Tells a terminal POIID from a Mobile SDK installation id; the two forms cannot overlap (one dash versus four). */
export function parsePoiId(value: unknown): AdyenPoiId {
  if (typeof value !== 'string')
    throw new AdyenProtocolError('INVALID_POIID', 'a POIID must be a string');
  const terminal = TERMINAL_POIID.exec(value);
  if (terminal) return { kind: 'terminal', poiId: value, model: terminal[1], serial: terminal[2] };
  if (INSTALLATION_ID.test(value))
    return { kind: 'mobile-sdk', poiId: value, installationId: value };
  throw new AdyenProtocolError(
    'INVALID_POIID',
    'a POIID must be [model]-[serial] (alphanumerics) or a Mobile SDK installation id',
    { length: value.length },
  );
}

export function isPoiId(value: unknown): value is string {
  try {
    parsePoiId(value);
    return true;
  } catch {
    return false;
  }
}

export function formatTerminalPoiId(terminal: { model: string; serial: string }): string {
  const poiId = `${terminal.model}-${terminal.serial}`;
  if (!TERMINAL_POIID.test(poiId)) {
    throw new AdyenProtocolError(
      'INVALID_ARGUMENT',
      'a terminal model and serial must be non-empty alphanumerics',
    );
  }
  return poiId;
}
