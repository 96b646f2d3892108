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
    // intella's public code list, 70 and 80 classes (intella2.gitbook.io/scan2pay/appendix/scan2pay-error-codes)
    ['7001', 'already refunded or cancelled'],
    ['7003', 'repeated refund number'],
    ['7004', 'refund missing'],
    ['8001', 'data conversion failed'],
    ['8002', 'incorrect data format'],
    ['8004', 'incorrect verification code'],
    ['8005', 'version not supported'],
    ['8006', 'login failed'],
    ['8007', 'user not exists'],
    ['8008', 'logged in elsewhere'],
    ['8009', 'invalid session'],
    ['8010', 'incorrect transmission method'],
    ['8011', 'database error'],
    ['8012', 'exchange rate service error'],
    ['8013', 'repeated user or ID'],
    ['8014', 'risk limit reached'],
    ['8015', 'network connection failed'],
  ])('%s is %s', (code, status) => {
    expect(isIntellaStatusCode(code)).toBe(true);
    expect(INTELLA_STATUS_CODES[code as keyof typeof INTELLA_STATUS_CODES].status).toBe(status);
  });

  it('has exactly the documented codes', () => {
    // integer-like keys do not keep insertion order in JS objects, so compare sorted
    expect([...INTELLA_STATUS_CODE_LIST].sort()).toEqual([
      '0000',
      '7000',
      '7001',
      '7002',
      '7003',
      '7004',
      '7105',
      '7167',
      ...Array.from({ length: 15 }, (_, i) => String(8001 + i)),
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
    // Rows of intella's public code list (intella2.gitbook.io/scan2pay/appendix/scan2pay-error-codes):
    // 7001 Order already refunded or cancelled; 7003 Repeated refund number; 7004 Refund not existed
    ['7001', undefined, 'FAILED', 'ALREADY_REFUNDED_OR_CANCELLED'],
    ['7003', undefined, 'FAILED', 'REPEATED_REFUND'],
    ['7004', undefined, 'FAILED', 'REFUND_MISSING'],
    // 8001 Data conversion failed; 8002 Incorrect data format
    ['8001', undefined, 'CONFIG_ERROR', 'DATA_CONVERSION_FAILED'],
    ['8002', undefined, 'CONFIG_ERROR', 'BAD_DATA_FORMAT'],
    // 8004 Incorrect verification code; 8005 Version not supported; 8006 Login failed; 8007 User not exists
    ['8004', undefined, 'CONFIG_ERROR', 'BAD_VERIFICATION_CODE'],
    ['8005', undefined, 'CONFIG_ERROR', 'VERSION_NOT_SUPPORTED'],
    ['8006', undefined, 'CONFIG_ERROR', 'LOGIN_FAILED'],
    ['8007', undefined, 'CONFIG_ERROR', 'USER_MISSING'],
    // 8008 The account is already logged in to another device; 8009 Invalid session
    ['8008', undefined, 'CONFIG_ERROR', 'LOGGED_IN_ELSEWHERE'],
    ['8009', undefined, 'RETRYABLE', 'INVALID_SESSION'],
    // 8010 Incorrect transmission method; 8011 There was an error in the database
    ['8010', undefined, 'CONFIG_ERROR', 'BAD_TRANSMISSION_METHOD'],
    ['8011', undefined, 'UNKNOWN', 'INTELLA_DATABASE_ERROR'],
    // 8012 Exchange rate service error; 8013 Repeated user or ID
    ['8012', undefined, 'RETRYABLE', 'EXCHANGE_RATE_ERROR'],
    ['8013', undefined, 'FAILED', 'REPEATED_USER'],
    // 8014 The transaction had reached the value of risk management; 8015 Network connection failed
    ['8014', undefined, 'FAILED', 'RISK_LIMIT_REACHED'],
    ['8015', undefined, 'UNKNOWN', 'INTELLA_NETWORK_FAILED'],
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
