import { describe, expect, it } from 'vitest';
import {
  ADYEN_ATTESTATION_STATUS_NAMES,
  ADYEN_ERROR_CONDITION_NAMES,
  ADYEN_ERROR_CONDITIONS,
  ADYEN_FORWARD_ATTEMPT_STATUS_NAMES,
  ADYEN_GLOBAL_STATUS_NAMES,
  ADYEN_GLOBAL_STATUSES,
  ADYEN_PRINTER_STATUS_NAMES,
  ADYEN_PRINTER_STATUSES,
  ADYEN_RESULT_NAMES,
  ADYEN_TAMPER_TRIGGERED,
  adyenDiagnosisOutcome,
  adyenErrorConditionOutcome,
  isAdyenAttestationBad,
  isAdyenAttestationStatus,
  isAdyenErrorCondition,
  isAdyenForwardAttemptStatus,
  isAdyenGlobalStatus,
  isAdyenPrinterStatus,
  isAdyenResult,
  type AdyenAttestationStatus,
  type AdyenErrorCondition,
  type AdyenGlobalStatus,
  type AdyenPrinterStatus,
} from './adyen';
import type { Outcome } from './outcome';

// Rows copied from protocols.md §4 (enums) and the seed (attestation and forwarding values).
const ERROR_CONDITION_ROWS: [AdyenErrorCondition, Outcome][] = [
  ['Aborted', 'RETRYABLE'],
  ['Busy', 'RETRYABLE'],
  ['Cancel', 'RETRYABLE'],
  ['DeviceOut', 'FAILED'],
  ['InsertedCard', 'RETRYABLE'],
  ['InProgress', 'RETRYABLE'],
  ['LoggedOut', 'CONFIG_ERROR'],
  ['MessageFormat', 'CONFIG_ERROR'],
  ['NotAllowed', 'RETRYABLE'],
  ['NotFound', 'CONFIG_ERROR'],
  ['PaymentRestriction', 'FAILED'],
  ['Refusal', 'FAILED'],
  ['UnavailableDevice', 'FAILED'],
  ['UnavailableService', 'CONFIG_ERROR'],
  ['InvalidCard', 'FAILED'],
  ['UnreachableHost', 'RETRYABLE'],
  ['WrongPIN', 'FAILED'],
];

const GLOBAL_STATUS_ROWS: [AdyenGlobalStatus, boolean][] = [
  ['OK', true],
  ['Busy', false],
  ['Maintenance', false],
  ['Unreachable', false],
];

const PRINTER_STATUS_ROWS: [AdyenPrinterStatus, boolean][] = [
  ['OK', true],
  ['PaperLow', true],
  ['NoPaper', false],
  ['PaperJam', false],
  ['OutOfOrder', false],
];

const ATTESTATION_ROWS: [AdyenAttestationStatus, boolean][] = [
  ['Valid', false],
  ['Rejected', true],
  ['Failed', true],
  ['Expired', true],
];

describe('Adyen Result', () => {
  it('has exactly Success, Failure and Partial', () => {
    expect([...ADYEN_RESULT_NAMES].sort()).toEqual(['Failure', 'Partial', 'Success']);
  });

  it.each([
    ['Success', undefined, 'SUCCESS'],
    ['Partial', undefined, 'RETRYABLE'],
    ['Failure', undefined, 'UNKNOWN'],
    ['Failure', 'Busy', 'RETRYABLE'],
    ['Failure', 'MessageFormat', 'CONFIG_ERROR'],
    ['Success', 'Busy', 'SUCCESS'],
  ] as const)('%s with ErrorCondition %s -> %s', (result, condition, outcome) => {
    expect(adyenDiagnosisOutcome(result, condition)).toBe(outcome);
  });

  it.each(['Success', 'Failure', 'Partial'])('recognises %s', (value) => {
    expect(isAdyenResult(value)).toBe(true);
  });

  it.each(['success', 'OK', '', 1, null, 'toString'])('refuses %s', (value) => {
    expect(isAdyenResult(value)).toBe(false);
  });
});

describe('Adyen ErrorCondition', () => {
  it('has exactly the members of protocols.md', () => {
    expect([...ADYEN_ERROR_CONDITION_NAMES].sort()).toEqual(
      ERROR_CONDITION_ROWS.map(([code]) => code).sort(),
    );
  });

  it.each(ERROR_CONDITION_ROWS)('%s -> %s, with a meaning and an action', (code, outcome) => {
    expect(isAdyenErrorCondition(code)).toBe(true);
    expect(adyenErrorConditionOutcome(code)).toBe(outcome);
    expect(adyenDiagnosisOutcome('Failure', code)).toBe(outcome);
    expect(ADYEN_ERROR_CONDITIONS[code].meaning.length).toBeGreaterThan(10);
    expect(ADYEN_ERROR_CONDITIONS[code].action.length).toBeGreaterThan(3);
  });

  it.each(['WrongPin', 'busy', 'constructor', '__proto__', 42])('refuses %s', (value) => {
    expect(isAdyenErrorCondition(value)).toBe(false);
  });
});

describe('Adyen GlobalStatus', () => {
  it('has exactly the members of protocols.md', () => {
    expect([...ADYEN_GLOBAL_STATUS_NAMES].sort()).toEqual(
      GLOBAL_STATUS_ROWS.map(([code]) => code).sort(),
    );
  });

  it.each(GLOBAL_STATUS_ROWS)('%s ready now: %s', (status, ready) => {
    expect(isAdyenGlobalStatus(status)).toBe(true);
    expect(ADYEN_GLOBAL_STATUSES[status].readyNow).toBe(ready);
  });

  it('uses the wire spelling OK, not Ok', () => {
    expect(isAdyenGlobalStatus('Ok')).toBe(false);
  });
});

describe('Adyen PrinterStatus', () => {
  it('has exactly the members of protocols.md', () => {
    expect([...ADYEN_PRINTER_STATUS_NAMES].sort()).toEqual(
      PRINTER_STATUS_ROWS.map(([code]) => code).sort(),
    );
  });

  it.each(PRINTER_STATUS_ROWS)('%s can print: %s', (status, canPrint) => {
    expect(isAdyenPrinterStatus(status)).toBe(true);
    expect(ADYEN_PRINTER_STATUSES[status].canPrint).toBe(canPrint);
  });
});

describe('Adyen Mobile SDK statuses', () => {
  it('has exactly the attestation values of the seed', () => {
    expect([...ADYEN_ATTESTATION_STATUS_NAMES].sort()).toEqual(
      ATTESTATION_ROWS.map(([s]) => s).sort(),
    );
  });

  it.each(ATTESTATION_ROWS)('attestation %s is bad: %s', (status, bad) => {
    expect(isAdyenAttestationStatus(status)).toBe(true);
    expect(isAdyenAttestationBad(status)).toBe(bad);
  });

  it.each(['Success', 'Connectivity failure', 'Other failure'])(
    'forward attempt status %s',
    (status) => {
      expect(isAdyenForwardAttemptStatus(status)).toBe(true);
    },
  );

  it('has exactly the forward attempt values of the seed', () => {
    expect([...ADYEN_FORWARD_ATTEMPT_STATUS_NAMES].sort()).toEqual(
      ['Connectivity failure', 'Other failure', 'Success'].sort(),
    );
  });

  it('names the tamper value of the seed', () => {
    expect(ADYEN_TAMPER_TRIGGERED).toBe('ARS_TRIGGERED');
  });
});
