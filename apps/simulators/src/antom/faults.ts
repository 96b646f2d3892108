import { ANTOM_DIAGNOSIS_CODE_NAMES, type AntomDiagnosisCode } from '@tillbus/result-codes';
import {
  booleanFault,
  FaultError,
  faultFields,
  integerFault,
  MAX_SLOW_MS,
  oneOfFault,
} from '../shared/faults';

export { FaultError, MAX_SLOW_MS };

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
  /**
   * Answer as a newer terminal would: printerStatus `LOW_PAPER` (a value the Y/N flag does not have today) and
   * fields this project has never seen, at the top level and in `result`.
   */
  unknownValues?: boolean;
  /** Sign the answer with a Response-Time this far off the simulator's clock (negative: behind), in ms. */
  clockSkewMs?: number;
}

/** What `unknownValues` sends. */
export const ANTOM_UNKNOWN_VALUES = {
  printerStatus: 'LOW_PAPER',
  extra: { batteryStatus: 'Y', deviceModel: 'A920' },
  resultExtra: { traceId: 'sim-trace' },
} as const;

/** The largest clock skew a fault may ask for: one day either way. */
export const MAX_CLOCK_SKEW_MS = 86_400_000;

export const ANTOM_MALFORMATIONS = ['garbage', 'truncated', 'wrong-types', 'empty'] as const;
export type AntomMalformation = (typeof ANTOM_MALFORMATIONS)[number];

const BOOLEAN_FAULTS = [
  'networkDown',
  'noPaper',
  'notReady',
  'noAnswer',
  'badSignature',
  'unsigned',
  'unknownValues',
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

/** Validates faults from a CLI file or the control endpoint; the message names the field at fault. */
export function parseAntomFaults(input: unknown, where = 'faults'): AntomFaults {
  const faults: AntomFaults = {};
  for (const [key, value, field] of faultFields(input, where)) {
    if (key in UNEXPRESSIBLE) throw new FaultError(`${field}: ${UNEXPRESSIBLE[key]}`);
    if ((BOOLEAN_FAULTS as readonly string[]).includes(key)) {
      faults[key as (typeof BOOLEAN_FAULTS)[number]] = booleanFault(field, value);
    } else if (key === 'resultCode') {
      faults.resultCode = oneOfFault(field, value, ANTOM_DIAGNOSIS_CODE_NAMES);
    } else if (key === 'slowMs') {
      faults.slowMs = integerFault(field, value, MAX_SLOW_MS);
    } else if (key === 'malformed') {
      faults.malformed = oneOfFault(field, value, ANTOM_MALFORMATIONS);
    } else if (key === 'clockSkewMs') {
      if (!Number.isInteger(value) || Math.abs(value as number) > MAX_CLOCK_SKEW_MS) {
        throw new FaultError(
          `${field} must be an integer from -${MAX_CLOCK_SKEW_MS} to ${MAX_CLOCK_SKEW_MS}`,
        );
      }
      faults.clockSkewMs = value as number;
    } else {
      throw new FaultError(
        `${field} is not an Antom fault; known: ${[...BOOLEAN_FAULTS, 'resultCode', 'slowMs', 'malformed', 'clockSkewMs'].join(', ')}`,
      );
    }
  }
  return faults;
}
