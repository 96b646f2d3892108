import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KICC_BUSINESS_FAILURE_CODES,
  KICC_BUSINESS_FAILURES,
  KICC_COMMAND_FAILURE_CODES,
  KICC_COMMAND_FAILURES,
  KICC_COMMAND_NAMES,
  KICC_COMMANDS,
  KICC_EVENT_CODE_LIST,
  KICC_EVENT_CODES,
  KICC_FAILURE_TYPES,
  KICC_INIT_CODE_LIST,
  KICC_INIT_CODES,
  commandTimeoutMs,
  isKiccBusinessFailureCode,
  isKiccCommandFailureCode,
  isKiccCommandName,
  isKiccEventCode,
  isKiccInitCode,
  isKiccPhaseEventCode,
  kiccBusinessFailureOutcome,
  kiccCommandFailureOutcome,
  kiccInitOutcome,
  kiccSuccessOutcome,
  paymentExpiryMs,
  purchaseNeedsSignature,
  type KiccCommandName,
} from './kicc';

describe('KICC_COMMANDS', () => {
  // seed: Timeout table
  it.each([
    ['Purchase', 'payment', 95],
    ['PurchaseCancel', 'payment', 85],
    ['GetLastTransaction', 'control', 5],
    ['CommandCancel', 'control', 5],
  ] as const)('%s is a %s command with a %i s default timeout', (name, kind, seconds) => {
    expect(isKiccCommandName(name)).toBe(true);
    expect(KICC_COMMANDS[name].kind).toBe(kind);
    expect(KICC_COMMANDS[name].defaultTimeoutSeconds).toBe(seconds);
  });

  it('has exactly the four seed commands', () => {
    expect(KICC_COMMAND_NAMES).toEqual([
      'Purchase',
      'PurchaseCancel',
      'GetLastTransaction',
      'CommandCancel',
    ]);
    expect(isKiccCommandName('Refund')).toBe(false);
    expect(isKiccCommandName('toString')).toBe(false);
  });
});

describe('commandTimeoutMs', () => {
  const krw = (value: string) => ({ paymentAmount: { value, currency: 'KRW' } });

  it.each([
    ['104', 95_000],
    ['49999', 95_000],
    // "exceeds 50,000 KRW": exactly 50,000 does not need a signature
    ['50000', 95_000],
    ['50001', 115_000],
    ['1000000', 115_000],
  ])('Purchase of %s KRW times out after %i ms', (value, ms) => {
    expect(commandTimeoutMs('Purchase', krw(value))).toBe(ms);
  });

  it.each([
    ['no params', undefined],
    ['no amount', {}],
    ['a non-numeric amount', krw('$TOTAL_AMOUNT')],
    ['a decimal amount', krw('104.5')],
    ['a number instead of a string', { paymentAmount: { value: 104, currency: 'KRW' } }],
    ['another currency', { paymentAmount: { value: '104', currency: 'USD' } }],
  ])('Purchase with %s takes the longer signature timeout', (_label, params) => {
    expect(purchaseNeedsSignature(params)).toBe(true);
    expect(commandTimeoutMs('Purchase', params)).toBe(115_000);
  });

  it.each([
    ['PurchaseCancel', 85_000],
    ['GetLastTransaction', 5_000],
    ['CommandCancel', 5_000],
  ] as const)('%s always takes %i ms, whatever the amount', (name, ms) => {
    expect(commandTimeoutMs(name)).toBe(ms);
    expect(commandTimeoutMs(name, krw('900000'))).toBe(ms);
  });

  it('is 95 s or 115 s for any KRW amount, split at 50,000', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (amount) => {
        const expected = amount > 50_000 ? 115_000 : 95_000;
        expect(commandTimeoutMs('Purchase', krw(String(amount)))).toBe(expected);
      }),
    );
  });
});

describe('paymentExpiryMs', () => {
  it.each([
    [undefined, 30_000],
    [{}, 30_000],
    [{ paymentExpiryTime: '30' }, 30_000],
    [{ paymentExpiryTime: '45' }, 45_000],
    [{ paymentExpiryTime: '0' }, 30_000],
    [{ paymentExpiryTime: 'soon' }, 30_000],
    [{ paymentExpiryTime: 45 }, 30_000],
  ])('%j gives %i ms', (params, ms) => {
    expect(paymentExpiryMs(params)).toBe(ms);
  });
});

describe('KICC_EVENT_CODES', () => {
  // seed: the table of event codes EDCServiceEvent may return
  it.each([
    ['READY', 'Device is ready for card insertion.', 'start', true],
    ['CARD_DETECTED', 'Card insertion was detected.', 'keep', true],
    ['CARD_READ_COMPLETED', 'Card reading process has completed.', 'keep', true],
    ['PENDING_SIGNATURE', 'Waiting for signature.', 'restart-signature', true],
    ['START_TRANSACTION', 'Payment in progress.', 'stop', true],
    ['CANCELLING', 'Device communication is being cancelled.', 'keep', false],
    ['FALLBACK_MAGCARDREADER', 'Card swipe failed, please insert a card.', 'keep', false],
    ['REQUIRE_CARD_INSERT', 'Please use an IC card for transaction.', 'keep', false],
    ['CARD_TRY_AGAIN', 'Please try reading the card again.', 'keep', false],
    ['CARD_MISSING', 'Card was not detected.', 'keep', false],
    ['DEVICE_INITIALIZE', 'Initializing the device.', 'keep', false],
  ] as const)('%s: %s (countdown %s, phase %s)', (code, meaning, countdown, phase) => {
    expect(isKiccEventCode(code)).toBe(true);
    expect(KICC_EVENT_CODES[code].meaning).toBe(meaning);
    expect(KICC_EVENT_CODES[code].countdown).toBe(countdown);
    expect(isKiccPhaseEventCode(code)).toBe(phase);
  });

  it('has exactly the eleven seed codes', () => {
    expect(KICC_EVENT_CODE_LIST).toHaveLength(11);
    expect(isKiccEventCode('ready')).toBe(false);
    expect(isKiccEventCode('hasOwnProperty')).toBe(false);
  });

  it('carries the seed countdown instructions', () => {
    expect(KICC_EVENT_CODES.READY.action).toBe('Start countdown');
    expect(KICC_EVENT_CODES.PENDING_SIGNATURE.action).toBe(
      'Restart countdown, timeout in 20 seconds',
    );
    expect(KICC_EVENT_CODES.START_TRANSACTION.action).toBe(
      'Card reading completed, stopping countdown',
    );
  });
});

describe('KICC_FAILURE_TYPES', () => {
  it.each([
    ['initialization', 'onInitResult'],
    ['command', 'onCommandFailed'],
    ['business', 'onBusinessFailed'],
  ] as const)('%s failures come through %s', (type, callback) => {
    expect(KICC_FAILURE_TYPES[type].callback).toBe(callback);
  });
});

describe('KICC_INIT_CODES', () => {
  it.each([
    ['INIT_SUCCESS', 'Initialization succeeded.', 'No further action required.', 'SUCCESS'],
    ['INIT_FAILED', 'Initialization failed.', 'Please try again.', 'RETRYABLE'],
    [
      'INIT_PARAM_ERROR',
      'Initialization parameter error.',
      'Please read Step 4: Instantiate the SDK and check the input parameter.',
      'CONFIG_ERROR',
    ],
  ] as const)('%s: %s / %s -> %s', (code, meaning, action, outcome) => {
    expect(isKiccInitCode(code)).toBe(true);
    expect(KICC_INIT_CODES[code].meaning).toBe(meaning);
    expect(KICC_INIT_CODES[code].action).toBe(action);
    expect(kiccInitOutcome(code)).toBe(outcome);
  });

  it('has exactly three codes and treats an unlisted one as retryable', () => {
    expect(KICC_INIT_CODE_LIST).toEqual(['INIT_SUCCESS', 'INIT_FAILED', 'INIT_PARAM_ERROR']);
    expect(kiccInitOutcome('INIT_SOMETHING')).toBe('RETRYABLE');
  });
});

describe('KICC_COMMAND_FAILURES', () => {
  // seed: "Command execution type" rows; outcome for a payment command, then for a control command
  it.each([
    [
      'CommandInvalidResponse',
      'Returned result of the command is incorrect.',
      'Please try again.',
      'UNKNOWN',
      'RETRYABLE',
    ],
    [
      'CommandResponseTimeout',
      'The command was executed, but no response was returned. See Timeout for more information. Upon receiving this event code, if the card reading timer has started, please ensure to cancel the timer.',
      'Please try again.',
      'UNKNOWN',
      'RETRYABLE',
    ],
    [
      'CommandNotSupport',
      'The command is not supported.',
      'Please read Step 5: Send commands to the device and input valid commands.',
      'CONFIG_ERROR',
      'CONFIG_ERROR',
    ],
    [
      'CommandDeviceBusy',
      'The device is executing the command.',
      'Wait for the previous command to respond and try again.',
      'FAILED',
      'RETRYABLE',
    ],
    [
      'CommandParamError',
      'Abnormal parameter.',
      'Check the parameters of the input command.',
      'FAILED',
      'FAILED',
    ],
    [
      'CommandInvalid',
      'Invalid command: the device does not accept it at this time.',
      'Check when the command was sent: CommandCancel, for one, is accepted only before the card is read.',
      'FAILED',
      'FAILED',
    ],
  ] as const)(
    '%s: %s / %s -> payment %s, control %s',
    (code, meaning, action, payment, control) => {
      expect(isKiccCommandFailureCode(code)).toBe(true);
      expect(KICC_COMMAND_FAILURES[code].meaning).toBe(meaning);
      expect(KICC_COMMAND_FAILURES[code].action).toBe(action);
      expect(kiccCommandFailureOutcome(code, 'Purchase')).toBe(payment);
      expect(kiccCommandFailureOutcome(code, 'PurchaseCancel')).toBe(payment);
      expect(kiccCommandFailureOutcome(code, 'GetLastTransaction')).toBe(control);
      expect(kiccCommandFailureOutcome(code, 'CommandCancel')).toBe(control);
    },
  );

  it('has exactly six codes', () => {
    expect(KICC_COMMAND_FAILURE_CODES).toHaveLength(6);
  });
});

describe('KICC_BUSINESS_FAILURES', () => {
  // seed: "Business processing type" rows; outcome for a payment command, then for a control command
  it.each([
    [
      'REPEAT_REQ_REJECT',
      'There is an existing order with the same requestId.',
      'Please retry with a new requestId.',
      'UNKNOWN',
      'RETRYABLE',
    ],
    [
      'INVALID_CONTRACT',
      'Contract is invalid.',
      'Please check the input merchantId information.',
      'CONFIG_ERROR',
      'CONFIG_ERROR',
    ],
    [
      'ACCESS_DENIED',
      'Access is denied.',
      'Contact KICC for detailed reasons and support.',
      'CONFIG_ERROR',
      'CONFIG_ERROR',
    ],
    [
      'PROCESS_FAIL',
      'A general business failure occurred.',
      'Do not retry. Human intervention is usually needed. It is recommended that you contact Antom Technical Support to troubleshoot the issue.',
      'FAILED',
      'FAILED',
    ],
    [
      'PARAM_ILLEGAL',
      'The required parameters are not passed, or illegal parameters exist. For example, a non-numeric input, or the length and type of the parameter are incorrect.',
      'Check and verify whether the required request parameters (including the header and body parameters) of the current API are correctly passed and valid.',
      'FAILED',
      'FAILED',
    ],
    [
      'ORDER_STATUS_INVALID',
      'The order status is invalid.',
      'Check the order status.',
      'FAILED',
      'FAILED',
    ],
    [
      'ORDER_IS_CANCELED',
      'The transaction is canceled.',
      'You cannot refund the transaction because it is canceled.',
      'FAILED',
      'FAILED',
    ],
    [
      'USER_AMOUNT_EXCEED_LIMIT',
      'The payment amount exceeds the user payment limit.',
      "Create a new payment by using an amount less than or equal to the account's available balance, or contact Antom Technical Support.",
      'FAILED',
      'FAILED',
    ],
    [
      'USER_BALANCE_NOT_ENOUGH',
      'The payment cannot be completed because the user balance in the corresponding payment method is not enough.',
      'Please top up the account or choose other payment methods.',
      'FAILED',
      'FAILED',
    ],
    [
      'INVALID_CARD_NUMBER',
      'The card number used for the transaction is invalid.',
      'Check and verify whether the required request parameters of the current API are correctly passed and valid.',
      'FAILED',
      'FAILED',
    ],
    [
      'IDENTITY_VERIFY_FAILED',
      "Identity verification timed out or the result couldn't be retrieved.",
      'Please confirm your identification details and try again.',
      'FAILED',
      'FAILED',
    ],
    [
      'UNKNOWN',
      'Unknown scenarios.',
      'Contact KICC for detailed reasons and support.',
      'UNKNOWN',
      'RETRYABLE',
    ],
  ] as const)(
    '%s: %s / %s -> payment %s, control %s',
    (code, meaning, action, payment, control) => {
      expect(isKiccBusinessFailureCode(code)).toBe(true);
      expect(KICC_BUSINESS_FAILURES[code].meaning).toBe(meaning);
      expect(KICC_BUSINESS_FAILURES[code].action).toBe(action);
      expect(kiccBusinessFailureOutcome(code, 'Purchase')).toBe(payment);
      expect(kiccBusinessFailureOutcome(code, 'PurchaseCancel')).toBe(payment);
      expect(kiccBusinessFailureOutcome(code, 'GetLastTransaction')).toBe(control);
      expect(kiccBusinessFailureOutcome(code, 'CommandCancel')).toBe(control);
    },
  );

  it('has exactly twelve codes', () => {
    expect(KICC_BUSINESS_FAILURE_CODES).toHaveLength(12);
  });
});

describe('outcome rules', () => {
  const commands = fc.constantFrom<KiccCommandName>(...KICC_COMMAND_NAMES);

  it('never makes a payment command RETRYABLE, whatever the failure code', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.constantFrom<KiccCommandName>('Purchase', 'PurchaseCancel'),
        (code, name) => {
          expect(kiccCommandFailureOutcome(code, name)).not.toBe('RETRYABLE');
          expect(kiccBusinessFailureOutcome(code, name)).not.toBe('RETRYABLE');
          expect(kiccSuccessOutcome(code, name)).not.toBe('RETRYABLE');
        },
      ),
    );
  });

  it('treats an unlisted failure code as UNKNOWN for a payment and RETRYABLE for a control command', () => {
    expect(kiccCommandFailureOutcome('SomethingNew', 'Purchase')).toBe('UNKNOWN');
    expect(kiccBusinessFailureOutcome('SOMETHING_NEW', 'PurchaseCancel')).toBe('UNKNOWN');
    expect(kiccBusinessFailureOutcome('SOMETHING_NEW', 'GetLastTransaction')).toBe('RETRYABLE');
    expect(kiccCommandFailureOutcome('__proto__', 'Purchase')).toBe('UNKNOWN');
  });

  it('only calls an onSuccess a success when result.resultCode is SUCCESS', () => {
    expect(kiccSuccessOutcome('SUCCESS', 'Purchase')).toBe('SUCCESS');
    expect(kiccSuccessOutcome('PROCESS_FAIL', 'Purchase')).toBe('FAILED');
    expect(kiccSuccessOutcome('', 'Purchase')).toBe('UNKNOWN');
  });

  it('always answers with an outcome from the shared vocabulary', () => {
    fc.assert(
      fc.property(fc.string(), commands, (code, name) => {
        const outcomes = ['SUCCESS', 'FAILED', 'RETRYABLE', 'UNKNOWN', 'CONFIG_ERROR'];
        expect(outcomes).toContain(kiccCommandFailureOutcome(code, name));
        expect(outcomes).toContain(kiccBusinessFailureOutcome(code, name));
      }),
    );
  });
});
