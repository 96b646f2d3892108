import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EASYCARD_ERROR_CODE_CLASSES,
  EASYCARD_ERROR_CODES,
  INTELLA_CALL_FAILURES,
  INTELLA_REASONS,
  INTELLA_STATUS_CODE_LIST,
  INTELLA_STATUS_CODES,
  classifyIntellaCallFailure,
  classifyIntellaResult,
  easyCardErrorCodeClass,
  isIntellaCallFailure,
  isIntellaStatusCode,
} from './intella';
import { isOutcome } from './outcome';

describe('INTELLA_STATUS_CODES', () => {
  // every row of protocols.md §6 Header.StatusCode
  it.each([
    ['0000', 'API ran'],
    ['9999', 'unavailable'],
    ['9998', 'failed'],
    ['9997', 'ongoing'],
    ['9995', 'system error'],
    ['9994', 'network/crypto error'],
    ['8003', 'decryption failed'],
    ['7000', 'repeated order'],
    ['7002', 'order missing'],
    ['7105', 'bad TradeKey'],
    ['7167', 'device deactivated'],
  ])('%s is %s', (code, status) => {
    expect(isIntellaStatusCode(code)).toBe(true);
    expect(INTELLA_STATUS_CODES[code as keyof typeof INTELLA_STATUS_CODES].status).toBe(status);
  });

  it('has exactly the documented codes', () => {
    // integer-like keys do not keep insertion order in JS objects, so compare sorted
    expect([...INTELLA_STATUS_CODE_LIST].sort()).toEqual([
      '0000',
      '7000',
      '7002',
      '7105',
      '7167',
      '8003',
      '9994',
      '9995',
      '9997',
      '9998',
      '9999',
    ]);
  });

  it('mentions the lower-case SHA-256 rule on 7105 and the public key on 9995', () => {
    expect(INTELLA_STATUS_CODES['7105'].meaning).toContain('lower-case hex SHA-256');
    expect(INTELLA_STATUS_CODES['9995'].meaning).toContain('public key');
  });

  it.each([['toString'], ['__proto__'], [''], ['0001'], [0]])(
    'refuses %s as a status code',
    (value) => {
      expect(isIntellaStatusCode(value)).toBe(false);
    },
  );
});

describe('EASYCARD_ERROR_CODES', () => {
  it.each([
    ['000000', '000000', 'success'],
    ['000125', '000125', 'retry required'],
    ['046200', '0462xx', 'card-read error'],
    ['046217', '0462xx', 'card-read error'],
    ['046299', '0462xx', 'card-read error'],
    ['010117', '010117', 'previous day not settled'],
    ['000051', '000051', 'insufficient balance'],
    ['010123', '010123', 'insufficient balance'],
    ['900001', '900001', 'reader in use'],
    ['900002', '900002', 'dongle id mismatch'],
  ])('%s belongs to class %s (%s)', (code, errorClass, status) => {
    expect(easyCardErrorCodeClass(code)).toBe(errorClass);
    expect(EASYCARD_ERROR_CODES[errorClass as keyof typeof EASYCARD_ERROR_CODES].status).toBe(
      status,
    );
  });

  it.each([['0462xx'], ['04620'], ['0462000'], ['046300'], ['999999'], ['toString'], ['']])(
    '%s is in no class',
    (code) => {
      expect(easyCardErrorCodeClass(code)).toBeUndefined();
    },
  );

  it('lists eight classes', () => {
    expect(EASYCARD_ERROR_CODE_CLASSES).toHaveLength(8);
  });
});

describe('classifyIntellaResult', () => {
  it.each([
    // 0000 only says the API ran: the ErrorCode decides
    ['0000', '000000', 'SUCCESS', 'OK'],
    ['0000', undefined, 'UNKNOWN', 'ERROR_CODE_MISSING'],
    ['0000', null, 'UNKNOWN', 'ERROR_CODE_MISSING'],
    ['0000', '', 'UNKNOWN', 'ERROR_CODE_MISSING'],
    ['0000', '000125', 'RETRYABLE', 'RETRY_REQUIRED'],
    ['0000', '046201', 'RETRYABLE', 'CARD_READ_ERROR'],
    ['0000', '046299', 'RETRYABLE', 'CARD_READ_ERROR'],
    ['0000', '010117', 'FAILED', 'PREVIOUS_DAY_NOT_SETTLED'],
    ['0000', '000051', 'FAILED', 'INSUFFICIENT_BALANCE'],
    ['0000', '010123', 'FAILED', 'INSUFFICIENT_BALANCE'],
    ['0000', '900001', 'RETRYABLE', 'READER_IN_USE'],
    ['0000', '900002', 'CONFIG_ERROR', 'DONGLE_ID_MISMATCH'],
    ['0000', '123456', 'UNKNOWN', 'UNKNOWN_ERROR_CODE'],
    ['0000', '0462xx', 'UNKNOWN', 'UNKNOWN_ERROR_CODE'],
    ['9999', undefined, 'RETRYABLE', 'UNAVAILABLE'],
    ['9998', undefined, 'RETRYABLE', 'INTELLA_FAILED'],
    ['9997', undefined, 'UNKNOWN', 'ONGOING'],
    ['9995', undefined, 'CONFIG_ERROR', 'PUBLIC_KEY_ERROR'],
    ['9994', undefined, 'RETRYABLE', 'NETWORK_OR_CRYPTO_ERROR'],
    ['8003', undefined, 'CONFIG_ERROR', 'DECRYPTION_FAILED'],
    ['7000', undefined, 'FAILED', 'REPEATED_ORDER'],
    ['7002', undefined, 'FAILED', 'ORDER_MISSING'],
    ['7105', undefined, 'CONFIG_ERROR', 'BAD_TRADE_KEY'],
    ['7167', undefined, 'CONFIG_ERROR', 'DEVICE_DEACTIVATED'],
    // a non-0000 status wins over whatever ErrorCode came with it
    ['9999', '000000', 'RETRYABLE', 'UNAVAILABLE'],
    ['7105', '000000', 'CONFIG_ERROR', 'BAD_TRADE_KEY'],
    ['9996', undefined, 'RETRYABLE', 'TRANSIENT_99XX'],
    ['9990', undefined, 'RETRYABLE', 'TRANSIENT_99XX'],
    ['1234', undefined, 'UNKNOWN', 'UNKNOWN_STATUS_CODE'],
    ['', undefined, 'UNKNOWN', 'UNKNOWN_STATUS_CODE'],
    ['toString', undefined, 'UNKNOWN', 'UNKNOWN_STATUS_CODE'],
  ])('(%s, %s) -> %s %s', (statusCode, errorCode, outcome, reason) => {
    expect(classifyIntellaResult(statusCode, errorCode)).toEqual({ outcome, reason });
  });

  it('is SUCCESS only for 0000 + 000000', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (statusCode, errorCode) => {
          const verdict = classifyIntellaResult(statusCode, errorCode);
          expect(isOutcome(verdict.outcome)).toBe(true);
          expect(Object.keys(INTELLA_REASONS)).toContain(verdict.reason);
          expect(verdict.outcome === 'SUCCESS').toBe(
            statusCode === '0000' && errorCode === '000000',
          );
        },
      ),
    );
  });

  it('never returns SUCCESS for 0000 with any other ErrorCode', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{6}$/).filter((code) => code !== '000000'),
        (errorCode) => {
          expect(classifyIntellaResult('0000', errorCode).outcome).not.toBe('SUCCESS');
        },
      ),
    );
  });
});

describe('INTELLA_CALL_FAILURES', () => {
  it.each([
    ['TIMEOUT', 'RETRYABLE'],
    ['UNREACHABLE', 'RETRYABLE'],
    ['HTTP_5XX', 'RETRYABLE'],
    ['HTTP_4XX', 'CONFIG_ERROR'],
    // crypto trouble on the answer is treated like 8003: alert, no hammering
    ['RESPONSE_UNREADABLE', 'CONFIG_ERROR'],
    ['RESPONSE_INCOMPLETE', 'UNKNOWN'],
    ['REQUEST_INVALID', 'CONFIG_ERROR'],
  ])('%s -> %s', (failure, outcome) => {
    expect(isIntellaCallFailure(failure)).toBe(true);
    expect(classifyIntellaCallFailure(failure as keyof typeof INTELLA_CALL_FAILURES)).toEqual({
      outcome,
      reason: failure,
    });
  });

  it('has exactly the rows above, none of them a success, none clashing with a vendor reason', () => {
    expect(Object.keys(INTELLA_CALL_FAILURES)).toHaveLength(7);
    for (const [failure, row] of Object.entries(INTELLA_CALL_FAILURES)) {
      expect(isOutcome(row.outcome)).toBe(true);
      expect(row.outcome).not.toBe('SUCCESS');
      expect(Object.keys(INTELLA_REASONS)).not.toContain(failure);
    }
  });

  it.each([['toString'], [''], ['OK'], [42]])('refuses %s', (value) => {
    expect(isIntellaCallFailure(value)).toBe(false);
  });
});
