import { ANTOM_DIAGNOSIS_CODE_NAMES, type AntomDiagnosisCode } from '@tillbus/result-codes';

/**
 * What can go wrong with one simulated Antom terminal. An Antom diagnosis answer carries only three Y/N flags and
 * a result code, so only faults that this answer can express exist here; the others are refused by name (see
 * UNEXPRESSIBLE below) rather than silently ignored.
 */
export interface AntomFaults {
  /** networkStatus N: the terminal has no network connection. */
  networkDown?: boolean;
  /** printerStatus N: Antom's only printer signal (no paper and a disconnected printer look the same). */
  noPaper?: boolean;
  /** globalStatus N: the terminal is not ready and should be restarted. */
  notReady?: boolean;
  /** Answer with this result code (and its status from the vendor table) instead of SUCCESS. */
  resultCode?: AntomDiagnosisCode;
  /** Answer after this many milliseconds. */
  slowMs?: number;
  /** Accept the request and never answer (the connection stays open until the fleet closes). */
  noAnswer?: boolean;
  /** Sign the response with a key the POS does not know. */
  badSignature?: boolean;
  /** Leave the signature headers out of the response. */
  unsigned?: boolean;
  /** Send a body that is not a valid diagnosis answer (still signed, so only the content is wrong). */
  malformed?: AntomMalformation;
}

export const ANTOM_MALFORMATIONS = ['garbage', 'truncated', 'wrong-types', 'empty'] as const;
export type AntomMalformation = (typeof ANTOM_MALFORMATIONS)[number];

const BOOLEAN_FAULTS = [
  'networkDown',
  'noPaper',
  'notReady',
  'noAnswer',
  'badSignature',
  'unsigned',
] as const;

/** Faults other terminals have that an Antom diagnosis cannot report, with the reason given to the caller. */
const UNEXPRESSIBLE: Record<string, string> = {
  paperLow: 'an Antom diagnosis has no paper-low signal (printerStatus is only Y or N)',
  lowBattery: 'an Antom diagnosis reports no battery level',
  batteryLevel: 'an Antom diagnosis reports no battery level',
  unconfirmedBatches: 'an Antom diagnosis reports no unconfirmed batches',
  hostUnreachable: 'an Antom diagnosis has no host diagnosis',
  tampered: 'an Antom diagnosis reports no tamper status',
  busy: 'an Antom diagnosis has no busy answer',
};

export const MAX_SLOW_MS = 600_000;

export class FaultError extends Error {
  override readonly name = 'FaultError';
}

/** Validates faults from a CLI file or the control endpoint; the message names the field at fault. */
export function parseAntomFaults(input: unknown, where = 'faults'): AntomFaults {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FaultError(`${where} must be a JSON object`);
  }
  const faults: AntomFaults = {};
  for (const [key, value] of Object.entries(input)) {
    const field = `${where}.${key}`;
    if (key in UNEXPRESSIBLE) throw new FaultError(`${field}: ${UNEXPRESSIBLE[key]}`);
    if ((BOOLEAN_FAULTS as readonly string[]).includes(key)) {
      if (typeof value !== 'boolean') throw new FaultError(`${field} must be true or false`);
      faults[key as (typeof BOOLEAN_FAULTS)[number]] = value;
    } else if (key === 'resultCode') {
      if (!(ANTOM_DIAGNOSIS_CODE_NAMES as readonly unknown[]).includes(value)) {
        throw new FaultError(`${field} must be one of ${ANTOM_DIAGNOSIS_CODE_NAMES.join(', ')}`);
      }
      faults.resultCode = value as AntomDiagnosisCode;
    } else if (key === 'slowMs') {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_SLOW_MS) {
        throw new FaultError(`${field} must be an integer from 0 to ${MAX_SLOW_MS}`);
      }
      faults.slowMs = value as number;
    } else if (key === 'malformed') {
      if (!(ANTOM_MALFORMATIONS as readonly unknown[]).includes(value)) {
        throw new FaultError(`${field} must be one of ${ANTOM_MALFORMATIONS.join(', ')}`);
      }
      faults.malformed = value as AntomMalformation;
    } else {
      throw new FaultError(
        `${field} is not an Antom fault; known: ${[...BOOLEAN_FAULTS, 'resultCode', 'slowMs', 'malformed'].join(', ')}`,
      );
    }
  }
  return faults;
}
