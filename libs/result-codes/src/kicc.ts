import type { Outcome } from './outcome';
import { isTableKey } from './table';

/**
 * KICC EDC terminals driven through Antom's Android SDK (`instore-edc-cmd`), seed 003 and protocols.md §5.
 * The seed is the only source for the commands, event codes, failure types and timeouts below; `meaning` and
 * `action` are the seed's words.
 */

/**
 * `kind` says what an automatic retry could do: a `payment` command moves money and is never re-sent
 * automatically; a `control` command (a query or a cancel of the running command) is safe to repeat.
 */
export const KICC_COMMANDS = {
  Purchase: {
    kind: 'payment',
    meaning: 'initiate a payment',
    defaultTimeoutSeconds: 95,
  },
  PurchaseCancel: {
    kind: 'payment',
    meaning: 'cancel a payment; needs acquirerInfo.acquirerMetaData returned by the Purchase',
    defaultTimeoutSeconds: 85,
  },
  GetLastTransaction: {
    kind: 'control',
    meaning: 'query the most recent transaction; the answer is shaped by its responseCommand',
    defaultTimeoutSeconds: 5,
  },
  CommandCancel: {
    kind: 'control',
    meaning:
      'cancel the running command; only valid before the card is read and a payment is initiated',
    defaultTimeoutSeconds: 5,
  },
} as const;

export type KiccCommandName = keyof typeof KICC_COMMANDS;
export type KiccCommandKind = (typeof KICC_COMMANDS)[KiccCommandName]['kind'];

export const KICC_COMMAND_NAMES = Object.keys(KICC_COMMANDS) as KiccCommandName[];

export function isKiccCommandName(value: unknown): value is KiccCommandName {
  return isTableKey(KICC_COMMANDS, value);
}

export const KICC_TIMING = {
  /** Seed, Timeout table: "Purchase | 95 (Require signature if the amount exceeds 50,000 KRW, and its default value is 115)". */
  purchaseWithSignatureTimeoutSeconds: 115,
  /** "exceeds": strictly above, so exactly 50,000 KRW keeps the 95 s timeout. */
  signatureThresholdKrw: 50_000,
  /** Seed: "PENDING_SIGNATURE | Waiting for signature. (Restart countdown, timeout in 20 seconds)". */
  pendingSignatureSeconds: 20,
  /** Seed, Purchase request: "paymentExpiryTime | No | Payment wait timeout, which defaults to 30s." */
  defaultPaymentExpirySeconds: 30,
} as const;

/** The parts of a command's request params that change its timeout; everything else is ignored. */
export interface KiccTimeoutParams {
  paymentAmount?: { value?: unknown; currency?: unknown };
  paymentExpiryTime?: unknown;
}

/**
 * Whether a Purchase needs a signature, by the seed's rule (above 50,000 KRW). An amount that cannot be read as
 * whole KRW counts as needing one: the longer timeout only delays a recovery, a shorter one would start it while
 * the customer is still signing.
 */
export function purchaseNeedsSignature(params: KiccTimeoutParams | undefined): boolean {
  const amount = params?.paymentAmount;
  if (
    amount?.currency !== 'KRW' ||
    typeof amount.value !== 'string' ||
    !/^\d{1,15}$/.test(amount.value)
  ) {
    return true;
  }
  return Number(amount.value) > KICC_TIMING.signatureThresholdKrw;
}

export function commandTimeoutMs(commandName: KiccCommandName, params?: KiccTimeoutParams): number {
  if (commandName === 'Purchase' && purchaseNeedsSignature(params)) {
    return KICC_TIMING.purchaseWithSignatureTimeoutSeconds * 1000;
  }
  return KICC_COMMANDS[commandName].defaultTimeoutSeconds * 1000;
}

/** `paymentExpiryTime` is sent as a string of seconds ("30"); anything else falls back to the 30 s default. */
export function paymentExpiryMs(params?: KiccTimeoutParams): number {
  const raw = params?.paymentExpiryTime;
  const seconds =
    typeof raw === 'string' && /^\d{1,6}$/.test(raw) && Number(raw) > 0
      ? Number(raw)
      : KICC_TIMING.defaultPaymentExpirySeconds;
  return seconds * 1000;
}

/**
 * `EDCServiceEvent.getCode()` values. `phase: true` codes move a command forward (edc-lifecycle); the others are
 * notices recorded without a phase change. `countdown` is what the seed tells the UI to do with its countdown.
 */
export const KICC_EVENT_CODES = {
  READY: {
    meaning: 'Device is ready for card insertion.',
    action: 'Start countdown',
    countdown: 'start',
    phase: true,
  },
  CARD_DETECTED: {
    meaning: 'Card insertion was detected.',
    action: 'none',
    countdown: 'keep',
    phase: true,
  },
  CARD_READ_COMPLETED: {
    meaning: 'Card reading process has completed.',
    action: 'none',
    countdown: 'keep',
    phase: true,
  },
  PENDING_SIGNATURE: {
    meaning: 'Waiting for signature.',
    action: 'Restart countdown, timeout in 20 seconds',
    countdown: 'restart-signature',
    phase: true,
  },
  START_TRANSACTION: {
    meaning: 'Payment in progress.',
    action: 'Card reading completed, stopping countdown',
    countdown: 'stop',
    phase: true,
  },
  CANCELLING: {
    meaning: 'Device communication is being cancelled.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
  FALLBACK_MAGCARDREADER: {
    meaning: 'Card swipe failed, please insert a card.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
  REQUIRE_CARD_INSERT: {
    meaning: 'Please use an IC card for transaction.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
  CARD_TRY_AGAIN: {
    meaning: 'Please try reading the card again.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
  CARD_MISSING: {
    meaning: 'Card was not detected.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
  DEVICE_INITIALIZE: {
    meaning: 'Initializing the device.',
    action: 'none',
    countdown: 'keep',
    phase: false,
  },
} as const;

export type KiccEventCode = keyof typeof KICC_EVENT_CODES;
export type KiccPhaseEventCode = {
  [C in KiccEventCode]: (typeof KICC_EVENT_CODES)[C]['phase'] extends true ? C : never;
}[KiccEventCode];
export type KiccNoticeEventCode = Exclude<KiccEventCode, KiccPhaseEventCode>;

export const KICC_EVENT_CODE_LIST = Object.keys(KICC_EVENT_CODES) as KiccEventCode[];

export function isKiccEventCode(value: unknown): value is KiccEventCode {
  return isTableKey(KICC_EVENT_CODES, value);
}

export function isKiccPhaseEventCode(code: KiccEventCode): code is KiccPhaseEventCode {
  return KICC_EVENT_CODES[code].phase;
}

/** The three failure types of the seed's "Event codes" section and the SDK callback that carries each. */
export const KICC_FAILURE_TYPES = {
  initialization: {
    callback: 'onInitResult',
    meaning: 'returned during the global initialization phase',
  },
  command: { callback: 'onCommandFailed', meaning: 'the device command execution failed' },
  business: { callback: 'onBusinessFailed', meaning: 'the business processing failed' },
} as const;

export type KiccFailureType = keyof typeof KICC_FAILURE_TYPES;

/** Initialization type, returned by `onInitResult(code, message)`. */
export const KICC_INIT_CODES = {
  INIT_SUCCESS: {
    meaning: 'Initialization succeeded.',
    action: 'No further action required.',
    outcome: 'SUCCESS',
  },
  INIT_FAILED: {
    meaning: 'Initialization failed.',
    action: 'Please try again.',
    outcome: 'RETRYABLE',
  },
  INIT_PARAM_ERROR: {
    meaning: 'Initialization parameter error.',
    action: 'Please read Step 4: Instantiate the SDK and check the input parameter.',
    outcome: 'CONFIG_ERROR',
  },
} as const satisfies Record<string, { meaning: string; action: string; outcome: Outcome }>;

export type KiccInitCode = keyof typeof KICC_INIT_CODES;
export const KICC_INIT_CODE_LIST = Object.keys(KICC_INIT_CODES) as KiccInitCode[];

export function isKiccInitCode(value: unknown): value is KiccInitCode {
  return isTableKey(KICC_INIT_CODES, value);
}

/**
 * Command execution type, returned by `onCommandFailed(CommandFailInfo)` as `errorCode`.
 * `outcome.payment` applies to Purchase and PurchaseCancel, `outcome.control` to GetLastTransaction and
 * CommandCancel.
 */
export const KICC_COMMAND_FAILURES = {
  CommandInvalidResponse: {
    meaning: 'Returned result of the command is incorrect.',
    action: 'Please try again.',
    // the command ran, only its answer is unreadable: a payment may have gone through
    outcome: { payment: 'UNKNOWN', control: 'RETRYABLE' },
  },
  CommandResponseTimeout: {
    meaning:
      'The command was executed, but no response was returned. See Timeout for more information. Upon receiving this event code, if the card reading timer has started, please ensure to cancel the timer.',
    action: 'Please try again.',
    outcome: { payment: 'UNKNOWN', control: 'RETRYABLE' },
  },
  CommandNotSupport: {
    meaning: 'The command is not supported.',
    action: 'Please read Step 5: Send commands to the device and input valid commands.',
    // the bridge's SDK does not know the command: an operator must update or fix it
    outcome: { payment: 'CONFIG_ERROR', control: 'CONFIG_ERROR' },
  },
  CommandDeviceBusy: {
    meaning: 'The device is executing the command.',
    action: 'Wait for the previous command to respond and try again.',
    // nothing started, but a payment is never re-sent automatically: the POS starts a new one
    outcome: { payment: 'FAILED', control: 'RETRYABLE' },
  },
  CommandParamError: {
    meaning: 'Abnormal parameter.',
    action: 'Check the parameters of the input command.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  CommandInvalid: {
    // the vendor's cells are cut short after "The timing of"; operator text says only what is known
    meaning: 'Invalid command: the device does not accept it at this time.',
    action:
      'Check when the command was sent: CommandCancel, for one, is accepted only before the card is read.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
} as const satisfies Record<
  string,
  { meaning: string; action: string; outcome: Record<KiccCommandKind, Outcome> }
>;

export type KiccCommandFailureCode = keyof typeof KICC_COMMAND_FAILURES;
export const KICC_COMMAND_FAILURE_CODES = Object.keys(
  KICC_COMMAND_FAILURES,
) as KiccCommandFailureCode[];

export function isKiccCommandFailureCode(value: unknown): value is KiccCommandFailureCode {
  return isTableKey(KICC_COMMAND_FAILURES, value);
}

/** `result.resultCode` of a successful command. */
export const KICC_SUCCESS_RESULT_CODE = 'SUCCESS';

/** Business processing type, returned by `onBusinessFailed` as `result.resultCode` / `getErrorCode()`. */
export const KICC_BUSINESS_FAILURES = {
  REPEAT_REQ_REJECT: {
    meaning: 'There is an existing order with the same requestId.',
    action: 'Please retry with a new requestId.',
    // the earlier order with this requestId exists and this answer does not say how it ended
    outcome: { payment: 'UNKNOWN', control: 'RETRYABLE' },
  },
  INVALID_CONTRACT: {
    meaning: 'Contract is invalid.',
    action: 'Please check the input merchantId information.',
    outcome: { payment: 'CONFIG_ERROR', control: 'CONFIG_ERROR' },
  },
  ACCESS_DENIED: {
    meaning: 'Access is denied.',
    action: 'Contact KICC for detailed reasons and support.',
    outcome: { payment: 'CONFIG_ERROR', control: 'CONFIG_ERROR' },
  },
  PROCESS_FAIL: {
    meaning: 'A general business failure occurred.',
    action:
      'Do not retry. Human intervention is usually needed. It is recommended that you contact Antom Technical Support to troubleshoot the issue.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  PARAM_ILLEGAL: {
    meaning:
      'The required parameters are not passed, or illegal parameters exist. For example, a non-numeric input, or the length and type of the parameter are incorrect.',
    action:
      'Check and verify whether the required request parameters (including the header and body parameters) of the current API are correctly passed and valid.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  ORDER_STATUS_INVALID: {
    meaning: 'The order status is invalid.',
    action: 'Check the order status.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  ORDER_IS_CANCELED: {
    meaning: 'The transaction is canceled.',
    action: 'You cannot refund the transaction because it is canceled.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  USER_AMOUNT_EXCEED_LIMIT: {
    meaning: 'The payment amount exceeds the user payment limit.',
    action:
      "Create a new payment by using an amount less than or equal to the account's available balance, or contact Antom Technical Support.",
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  USER_BALANCE_NOT_ENOUGH: {
    meaning:
      'The payment cannot be completed because the user balance in the corresponding payment method is not enough.',
    action: 'Please top up the account or choose other payment methods.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  INVALID_CARD_NUMBER: {
    meaning: 'The card number used for the transaction is invalid.',
    action:
      'Check and verify whether the required request parameters of the current API are correctly passed and valid.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  IDENTITY_VERIFY_FAILED: {
    meaning: "Identity verification timed out or the result couldn't be retrieved.",
    action: 'Please confirm your identification details and try again.',
    outcome: { payment: 'FAILED', control: 'FAILED' },
  },
  UNKNOWN: {
    meaning: 'Unknown scenarios.',
    action: 'Contact KICC for detailed reasons and support.',
    outcome: { payment: 'UNKNOWN', control: 'RETRYABLE' },
  },
} as const satisfies Record<
  string,
  { meaning: string; action: string; outcome: Record<KiccCommandKind, Outcome> }
>;

export type KiccBusinessFailureCode = keyof typeof KICC_BUSINESS_FAILURES;
export const KICC_BUSINESS_FAILURE_CODES = Object.keys(
  KICC_BUSINESS_FAILURES,
) as KiccBusinessFailureCode[];

export function isKiccBusinessFailureCode(value: unknown): value is KiccBusinessFailureCode {
  return isTableKey(KICC_BUSINESS_FAILURES, value);
}

export function kiccCommandKind(commandName: KiccCommandName): KiccCommandKind {
  return KICC_COMMANDS[commandName].kind;
}

/** A code the seed does not list says nothing about whether money moved, so it is UNKNOWN for a payment. */
const UNLISTED_FAILURE_OUTCOME: Record<KiccCommandKind, Outcome> = {
  payment: 'UNKNOWN',
  control: 'RETRYABLE',
};

export function kiccCommandFailureOutcome(code: string, commandName: KiccCommandName): Outcome {
  const row = isKiccCommandFailureCode(code)
    ? KICC_COMMAND_FAILURES[code].outcome
    : UNLISTED_FAILURE_OUTCOME;
  return row[kiccCommandKind(commandName)];
}

export function kiccBusinessFailureOutcome(code: string, commandName: KiccCommandName): Outcome {
  const row = isKiccBusinessFailureCode(code)
    ? KICC_BUSINESS_FAILURES[code].outcome
    : UNLISTED_FAILURE_OUTCOME;
  return row[kiccCommandKind(commandName)];
}

export function kiccInitOutcome(code: string): Outcome {
  return isKiccInitCode(code) ? KICC_INIT_CODES[code].outcome : 'RETRYABLE';
}

/** Outcome of `onSuccess`: the SDK's success callback still carries `result.resultCode`, which must say SUCCESS. */
export function kiccSuccessOutcome(resultCode: string, commandName: KiccCommandName): Outcome {
  return resultCode === KICC_SUCCESS_RESULT_CODE
    ? 'SUCCESS'
    : kiccBusinessFailureOutcome(resultCode, commandName);
}
