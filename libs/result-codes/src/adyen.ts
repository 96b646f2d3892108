import type { Outcome } from './outcome';
import { isTableKey } from './table';

/*
 * Adyen Terminal API (nexo) diagnosis codes. The wire spellings are exactly those of @adyen/api-library's enums
 * (`OK` not `Ok`, `WrongPIN` not `WrongPin`); a test in libs/protocols/adyen checks both sides hold the same members.
 * Meanings follow the nexo / Adyen Terminal API reference; actions are what a diagnosis caller should do.
 */

interface AdyenRow {
  readonly meaning: string;
  readonly action: string;
}

interface AdyenOutcomeRow extends AdyenRow {
  readonly outcome: Outcome;
}

/** `Response.Result`. */
export const ADYEN_RESULTS = {
  Success: {
    meaning: 'The request succeeded.',
    action: 'Read POIStatus, HostStatus and AdditionalResponse.',
    outcome: 'SUCCESS',
  },
  Failure: {
    meaning: 'The request did not succeed; ErrorCondition says why.',
    action: 'Handle the ErrorCondition.',
    // The real outcome comes from the ErrorCondition; this row only covers a Failure that lacks one.
    outcome: 'UNKNOWN',
  },
  Partial: {
    meaning: 'The request was only partly satisfied (for payments: a partially approved amount).',
    action: 'Use the data that came back and diagnose again for the rest.',
    // A diagnosis changes nothing on the terminal, so asking again for a complete answer is safe.
    outcome: 'RETRYABLE',
  },
} as const satisfies Record<string, AdyenOutcomeRow>;

export type AdyenResult = keyof typeof ADYEN_RESULTS;
export const ADYEN_RESULT_NAMES = Object.keys(ADYEN_RESULTS) as AdyenResult[];
export function isAdyenResult(value: unknown): value is AdyenResult {
  return isTableKey(ADYEN_RESULTS, value);
}

/** `Response.ErrorCondition`, with what a diagnosis caller makes of each. */
export const ADYEN_ERROR_CONDITIONS = {
  Aborted: {
    meaning:
      'The initiator of the request sent an Abort request, which was accepted and processed.',
    action: 'Diagnose again at the next interval.',
    // A diagnosis is read-only: repeating an aborted one cannot do harm.
    outcome: 'RETRYABLE',
  },
  Busy: {
    meaning: 'The terminal (or Mobile SDK) is busy processing another request; try later.',
    action: 'Report the terminal as busy and diagnose again later.',
    outcome: 'RETRYABLE',
  },
  Cancel: {
    meaning: 'The user aborted on the terminal keypad.',
    action: 'Diagnose again later.',
    // A person cancelling on the terminal is momentary; nothing is wrong with the request.
    outcome: 'RETRYABLE',
  },
  DeviceOut: {
    meaning: 'The device is out of order.',
    action: 'Mark the terminal down and alert store staff to check or replace it.',
    // Repeating the same request gets the same answer until someone fixes the hardware.
    outcome: 'FAILED',
  },
  InsertedCard: {
    meaning: 'A card was inserted while the terminal processed a command that did not expect one.',
    action: 'Diagnose again once the card is removed.',
    // The card is removed in seconds; the request itself was fine.
    outcome: 'RETRYABLE',
  },
  InProgress: {
    meaning: 'A transaction is still in progress, so the command cannot be processed.',
    action: 'Diagnose again after the transaction ends.',
    outcome: 'RETRYABLE',
  },
  LoggedOut: {
    meaning: 'Not logged in.',
    action: 'Alert an operator: the Sale system or terminal session is not set up.',
    // Only a login or setup change fixes it, and retrying will not.
    outcome: 'CONFIG_ERROR',
  },
  MessageFormat: {
    meaning:
      'The request was badly formed; AdditionalResponse names the data element and the reason.',
    action: 'Alert an operator with the AdditionalResponse; do not repeat the same request.',
    // The same bytes will be refused again: a bug or a wrong setting (POIID, protocol version) must be fixed.
    outcome: 'CONFIG_ERROR',
  },
  NotAllowed: {
    meaning:
      'The request is not allowed now: a service request during a service dialogue, or a combination of services the terminal cannot provide.',
    action: 'Diagnose again later; alert an operator if it persists.',
    // For a diagnosis this points at a dialogue still open on the terminal, which ends by itself.
    outcome: 'RETRYABLE',
  },
  NotFound: {
    meaning: 'The referenced transaction or target was not found.',
    action: 'Check that the POIID in the terminal registry is right.',
    // A diagnosis refers to nothing but the POIID, so "not found" means the registry is wrong.
    outcome: 'CONFIG_ERROR',
  },
  PaymentRestriction: {
    meaning: 'Some sale items cannot be paid with the card presented.',
    action: 'Not expected for a diagnosis: log it and diagnose again at the next interval.',
    // A payment-only condition: repeating the same request cannot change it.
    outcome: 'FAILED',
  },
  Refusal: {
    meaning: 'The host or the card rules refused the request; it cannot be repeated.',
    action: 'Mark the diagnosis failed and alert an operator if it persists.',
    outcome: 'FAILED',
  },
  UnavailableDevice: {
    meaning: 'The hardware is not available (absent, not configured).',
    action: 'Mark the terminal down and alert store staff.',
    // Absent or unconfigured hardware needs a person, not a retry.
    outcome: 'FAILED',
  },
  UnavailableService: {
    meaning:
      'The service is not available (not implemented, not configured, protocol version too old).',
    action: 'Alert an operator: check the terminal configuration and software version.',
    // Each listed cause is a configuration or version problem that a retry cannot fix.
    outcome: 'CONFIG_ERROR',
  },
  InvalidCard: {
    meaning: 'The card presented is not configured in the system.',
    action: 'Not expected for a diagnosis: log it and diagnose again at the next interval.',
    // A card-level verdict: repeating the same request cannot change it.
    outcome: 'FAILED',
  },
  UnreachableHost: {
    meaning:
      'The acquirer or another host is unreachable or did not answer; it is considered temporarily unavailable.',
    action: 'Report the host as unreachable (check network and firewall) and diagnose again later.',
    // nexo calls it temporary and says the request may be repeated.
    outcome: 'RETRYABLE',
  },
  WrongPIN: {
    meaning: 'The PIN entered on the terminal failed verification.',
    action: 'Not expected for a diagnosis: log it and diagnose again at the next interval.',
    // A cardholder-level verdict: repeating the same request cannot change it.
    outcome: 'FAILED',
  },
} as const satisfies Record<string, AdyenOutcomeRow>;

export type AdyenErrorCondition = keyof typeof ADYEN_ERROR_CONDITIONS;
export const ADYEN_ERROR_CONDITION_NAMES = Object.keys(
  ADYEN_ERROR_CONDITIONS,
) as AdyenErrorCondition[];
export function isAdyenErrorCondition(value: unknown): value is AdyenErrorCondition {
  return isTableKey(ADYEN_ERROR_CONDITIONS, value);
}

/** `POIStatus.GlobalStatus`; `readyNow` answers "can it take a payment right now?". */
export const ADYEN_GLOBAL_STATUSES = {
  OK: {
    meaning: 'The terminal is ready to receive and process a request.',
    action: 'None.',
    readyNow: true,
  },
  Busy: {
    meaning: 'The terminal is busy processing another request.',
    action: 'Report it busy; it becomes ready when the current request ends.',
    readyNow: false,
  },
  Maintenance: {
    meaning: 'The terminal is in maintenance processing.',
    action: 'Report it in maintenance; alert staff if it lasts.',
    readyNow: false,
  },
  Unreachable: {
    meaning: 'The terminal is unreachable or not responding.',
    action: 'Mark it down; check power and network.',
    readyNow: false,
  },
} as const satisfies Record<string, AdyenRow & { readyNow: boolean }>;

export type AdyenGlobalStatus = keyof typeof ADYEN_GLOBAL_STATUSES;
export const ADYEN_GLOBAL_STATUS_NAMES = Object.keys(ADYEN_GLOBAL_STATUSES) as AdyenGlobalStatus[];
export function isAdyenGlobalStatus(value: unknown): value is AdyenGlobalStatus {
  return isTableKey(ADYEN_GLOBAL_STATUSES, value);
}

/** `POIStatus.PrinterStatus`, present only on terminals with a built-in printer. */
export const ADYEN_PRINTER_STATUSES = {
  OK: { meaning: 'The printer is ready.', action: 'None.', canPrint: true },
  PaperLow: {
    meaning: 'The paper roll is nearly used up.',
    action: 'Ask store staff to load a new roll soon.',
    canPrint: true,
  },
  NoPaper: {
    meaning: 'The receipt paper roll is missing or the paper is not sticking out.',
    action: 'Ask store staff to load or feed the paper roll.',
    canPrint: false,
  },
  PaperJam: {
    meaning: 'The paper is jammed.',
    action: 'Ask store staff to clear the jam.',
    canPrint: false,
  },
  OutOfOrder: {
    meaning: 'The printer module is out of order.',
    action: 'Alert store staff; the terminal needs service.',
    canPrint: false,
  },
} as const satisfies Record<string, AdyenRow & { canPrint: boolean }>;

export type AdyenPrinterStatus = keyof typeof ADYEN_PRINTER_STATUSES;
export const ADYEN_PRINTER_STATUS_NAMES = Object.keys(
  ADYEN_PRINTER_STATUSES,
) as AdyenPrinterStatus[];
export function isAdyenPrinterStatus(value: unknown): value is AdyenPrinterStatus {
  return isTableKey(ADYEN_PRINTER_STATUSES, value);
}

/** Mobile SDK `attestationStatus.status` (Base64 JSON inside AdditionalResponse). */
export const ADYEN_ATTESTATION_STATUSES = {
  Valid: { meaning: 'The mobile device is secure.', action: 'None.', bad: false },
  Rejected: {
    meaning: 'A threat was detected.',
    action: 'Stop taking payments on the device; show any resolvableIssues to the operator.',
    bad: true,
  },
  Failed: {
    meaning:
      'The security of the device could not be attested, for example after losing internet connectivity.',
    action: 'Restore connectivity, then diagnose again with HostDiagnosisFlag true.',
    bad: true,
  },
  Expired: {
    meaning: 'An attestation token has expired.',
    action: 'Diagnose again with HostDiagnosisFlag true once internet connectivity is restored.',
    bad: true,
  },
} as const satisfies Record<string, AdyenRow & { bad: boolean }>;

export type AdyenAttestationStatus = keyof typeof ADYEN_ATTESTATION_STATUSES;
export const ADYEN_ATTESTATION_STATUS_NAMES = Object.keys(
  ADYEN_ATTESTATION_STATUSES,
) as AdyenAttestationStatus[];
export function isAdyenAttestationStatus(value: unknown): value is AdyenAttestationStatus {
  return isTableKey(ADYEN_ATTESTATION_STATUSES, value);
}

/** Mobile SDK `storeAndForwardStatus.forwardAttemptStatus`: what happened when stored offline payments were sent. */
export const ADYEN_FORWARD_ATTEMPT_STATUSES = {
  Success: {
    meaning: 'The stored offline transactions were forwarded.',
    action: 'None.',
    forwarded: true,
  },
  'Connectivity failure': {
    meaning: 'Forwarding failed for lack of connectivity.',
    action: 'Restore connectivity, then diagnose again with HostDiagnosisFlag true.',
    forwarded: false,
  },
  'Other failure': {
    meaning: 'Forwarding failed for another reason.',
    action: 'Alert an operator: offline payments are waiting to be forwarded.',
    forwarded: false,
  },
} as const satisfies Record<string, AdyenRow & { forwarded: boolean }>;

export type AdyenForwardAttemptStatus = keyof typeof ADYEN_FORWARD_ATTEMPT_STATUSES;
export const ADYEN_FORWARD_ATTEMPT_STATUS_NAMES = Object.keys(
  ADYEN_FORWARD_ATTEMPT_STATUSES,
) as AdyenForwardAttemptStatus[];
export function isAdyenForwardAttemptStatus(value: unknown): value is AdyenForwardAttemptStatus {
  return isTableKey(ADYEN_FORWARD_ATTEMPT_STATUSES, value);
}

/** `tamperStatus` value on UX300/UX410: anti-removal switches triggered, stop using the terminal now. */
export const ADYEN_TAMPER_TRIGGERED = 'ARS_TRIGGERED';

export function adyenErrorConditionOutcome(condition: AdyenErrorCondition): Outcome {
  return ADYEN_ERROR_CONDITIONS[condition].outcome;
}

/** The outcome of a diagnosis exchange: a Failure is judged by its ErrorCondition. */
export function adyenDiagnosisOutcome(
  result: AdyenResult,
  errorCondition?: AdyenErrorCondition,
): Outcome {
  if (result === 'Failure' && errorCondition !== undefined)
    return adyenErrorConditionOutcome(errorCondition);
  return ADYEN_RESULTS[result].outcome;
}

export function isAdyenAttestationBad(status: AdyenAttestationStatus): boolean {
  return ADYEN_ATTESTATION_STATUSES[status].bad;
}
