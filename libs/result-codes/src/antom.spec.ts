import { describe, expect, it } from 'vitest';
import {
  ANTOM_DIAGNOSIS_CODES,
  ANTOM_DIAGNOSIS_CODE_NAMES,
  DSTORE_ORDER_STATUSES,
  DSTORE_ORDER_STATUS_NAMES,
  DSTORE_RESULT_CODES,
  DSTORE_RESULT_CODE_NAMES,
  NOTIFY_ORDER_CHANGE_STATUSES,
  PUSH_ORDER_CHANGE_STATUSES,
  antomDiagnosisCodeOutcome,
  antomDiagnosisResult,
  antomDiagnosisResultOutcome,
  dstoreCodeOutcome,
  dstoreResult,
  dstoreResultOutcome,
  isAntomDiagnosisCode,
  isAntomResultStatus,
  isDStoreOrderStatus,
  isDStoreResultCode,
  isNotifyOrderChangeStatus,
  isPushOrderChangeStatus,
} from './antom';

// protocols.md §1 and seed 000, row by row: code, status, expected outcome.
const diagnosisRows = [
  ['SUCCESS', 'S', 'SUCCESS'],
  ['PROCESS_FAIL', 'F', 'FAILED'],
  ['INVALID_API', 'F', 'CONFIG_ERROR'],
  ['CLIENT_INVALID', 'F', 'CONFIG_ERROR'],
  ['INVALID_SIGNATURE', 'F', 'CONFIG_ERROR'],
  ['INVALID_ENCRPT_DATA', 'F', 'CONFIG_ERROR'],
  ['METHOD_NOT_SUPPORTED', 'F', 'FAILED'],
  ['UNKNOWN_EXCEPTION', 'U', 'RETRYABLE'],
] as const;

// protocols.md §3 and seed 002, row by row.
const dstoreRows = [
  ['SUCCESS', 'S', 'success', 'SUCCESS'],
  ['PROCESS_FAIL', 'F', 'A general business failure occurred. Do not retry.', 'FAILED'],
  [
    'PARAM_ILLEGAL',
    'F',
    'Parameter names or values do not meet the specified requirements. The result message can vary according to the specific error encountered.',
    'FAILED',
  ],
  ['INVALID_API', 'F', 'The called API is invalid or not active.', 'CONFIG_ERROR'],
  ['INVALID_SIGNATURE', 'F', 'Signature is invalid.', 'CONFIG_ERROR'],
  ['ACCESS_DENIED', 'F', 'Access is denied', 'CONFIG_ERROR'],
  ['REQUEST_TRAFFIC_EXCEED_LIMIT', 'F', 'The request traffic exceeds the limit.', 'RETRYABLE'],
  [
    'UNKNOWN_EXCEPTION',
    'U',
    'An API calling is failed, which is caused by unknown reasons.',
    'RETRYABLE',
  ],
] as const;

describe('Antom diagnosis codes', () => {
  it('holds exactly the vendor codes', () => {
    expect([...ANTOM_DIAGNOSIS_CODE_NAMES].sort()).toEqual(diagnosisRows.map((r) => r[0]).sort());
  });

  it.each(diagnosisRows)('%s has status %s and maps to %s', (code, status, outcome) => {
    expect(ANTOM_DIAGNOSIS_CODES[code].status).toBe(status);
    expect(antomDiagnosisCodeOutcome(code)).toBe(outcome);
    expect(antomDiagnosisResultOutcome({ resultStatus: status, resultCode: code })).toBe(outcome);
    expect(isAntomDiagnosisCode(code)).toBe(true);
  });

  it.each(diagnosisRows)(
    'antomDiagnosisResult(%s) is the row as a result object',
    (code, status) => {
      expect(antomDiagnosisResult(code)).toEqual({
        resultStatus: status,
        resultCode: code,
        resultMessage: ANTOM_DIAGNOSIS_CODES[code].message,
      });
      expect(antomDiagnosisResult(code, 'custom').resultMessage).toBe('custom');
    },
  );

  it('keeps the vendor spelling INVALID_ENCRPT_DATA', () => {
    expect(isAntomDiagnosisCode('INVALID_ENCRYPT_DATA')).toBe(false);
    expect(isAntomDiagnosisCode('INVALID_ENCRPT_DATA')).toBe(true);
  });

  it('says POST is the only method', () => {
    expect(ANTOM_DIAGNOSIS_CODES.METHOD_NOT_SUPPORTED.action).toBe(
      'Ensure the HTTP method is POST.',
    );
  });

  it.each([
    [{ resultStatus: 'S', resultCode: 'SOMETHING_NEW' }, 'SUCCESS'],
    [{ resultStatus: 'F', resultCode: 'SOMETHING_NEW' }, 'FAILED'],
    [{ resultStatus: 'U', resultCode: 'SOMETHING_NEW' }, 'RETRYABLE'],
    [{ resultStatus: 'F' }, 'FAILED'],
    [{ resultStatus: '?' }, 'RETRYABLE'],
  ])('falls back on the status for a code it does not know: %j -> %s', (result, outcome) => {
    expect(antomDiagnosisResultOutcome(result)).toBe(outcome);
  });

  it('ignores inherited property names as codes', () => {
    expect(isAntomDiagnosisCode('toString')).toBe(false);
    expect(antomDiagnosisResultOutcome({ resultStatus: 'F', resultCode: 'constructor' })).toBe(
      'FAILED',
    );
  });
});

describe('D-Store order API codes', () => {
  it('holds exactly the vendor codes', () => {
    expect([...DSTORE_RESULT_CODE_NAMES].sort()).toEqual(dstoreRows.map((r) => r[0]).sort());
  });

  it.each(dstoreRows)(
    '%s has status %s, message "%s", and maps to %s',
    (code, status, message, outcome) => {
      expect(DSTORE_RESULT_CODES[code].status).toBe(status);
      expect(DSTORE_RESULT_CODES[code].message).toBe(message);
      expect(dstoreCodeOutcome(code)).toBe(outcome);
      expect(dstoreResultOutcome({ resultStatus: status, resultCode: code })).toBe(outcome);
      expect(isDStoreResultCode(code)).toBe(true);
    },
  );

  it.each(dstoreRows)('builds the answer for %s from the table', (code, status, message) => {
    expect(dstoreResult(code)).toEqual({
      resultStatus: status,
      resultCode: code,
      resultMessage: message,
    });
    expect(dstoreResult(code, 'custom')).toEqual({
      resultStatus: status,
      resultCode: code,
      resultMessage: 'custom',
    });
  });

  it('knows the result statuses', () => {
    expect(['S', 'F', 'U'].map(isAntomResultStatus)).toEqual([true, true, true]);
    expect(['s', 'X', '', 1].map(isAntomResultStatus)).toEqual([false, false, false, false]);
  });
});

describe('D-Store order statuses', () => {
  const rows = [
    ['ORDER_SUCCESS', false],
    ['ACCEPTED', false],
    ['PREPARING', false],
    ['READY', false],
    ['COMPLETED', true],
    ['CANCELLED', true],
    ['REJECTED', true],
    ['ORDER_FAIL', true],
  ] as const;

  it('holds exactly the vendor statuses', () => {
    expect(DSTORE_ORDER_STATUS_NAMES).toEqual(rows.map((r) => r[0]));
  });

  it.each(rows)('%s final=%s', (status, final) => {
    expect(DSTORE_ORDER_STATUSES[status].final).toBe(final);
    expect(isDStoreOrderStatus(status)).toBe(true);
  });

  it('lets only COMPLETED be cancelled later by a channel', () => {
    expect(
      DSTORE_ORDER_STATUS_NAMES.filter((s) => DSTORE_ORDER_STATUSES[s].channelMayCancel),
    ).toEqual(['COMPLETED']);
  });

  it.each(DSTORE_ORDER_STATUS_NAMES)(
    '%s is allowed in pushOrderChange and notifyOrderChange as published',
    (status) => {
      expect(isPushOrderChangeStatus(status)).toBe(
        ['COMPLETED', 'CANCELLED', 'ORDER_FAIL'].includes(status),
      );
      expect(isNotifyOrderChangeStatus(status)).toBe(
        ['ACCEPTED', 'PREPARING', 'READY', 'COMPLETED', 'REJECTED', 'CANCELLED'].includes(status),
      );
    },
  );

  it('keeps the published order of the allowed sets', () => {
    expect(PUSH_ORDER_CHANGE_STATUSES).toEqual(['COMPLETED', 'CANCELLED', 'ORDER_FAIL']);
    expect(NOTIFY_ORDER_CHANGE_STATUSES).toEqual([
      'ACCEPTED',
      'PREPARING',
      'READY',
      'COMPLETED',
      'REJECTED',
      'CANCELLED',
    ]);
    expect(isPushOrderChangeStatus('completed')).toBe(false);
    expect(isNotifyOrderChangeStatus(undefined)).toBe(false);
  });
});
