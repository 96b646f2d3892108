import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  Equals,
  IsDefined,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import {
  KICC_SUCCESS_RESULT_CODE,
  kiccBusinessFailureOutcome,
  type EdcRecoveryVerdict,
  type KiccCommandName,
} from '@tillbus/result-codes';
import { describeViolations, validatePlain, type Violation } from '@tillbus/validation';
import { assertNoCardData, assertPlainJson } from './card-data';
import { KiccProtocolError } from './errors';

/**
 * `commandRequestParams` and `responseData` of the four KICC commands, field by field from the seed's
 * "Device commands" tables. The seed sends every amount and count as a string of digits ("104", "0").
 */

const DIGITS = /^\d{1,15}$/;

export class KiccAmount {
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  value!: string;

  @Matches(/^[A-Z]{3}$/, { message: '$property must be a 3-letter currency code' })
  currency!: string;
}

export class KiccCreditPayPlan {
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  installmentNum!: string;
}

/** PurchaseCancel: "creditPayPlan.installmentNum | No". */
export class KiccOptionalCreditPayPlan {
  @IsOptional()
  @Matches(DIGITS, { message: '$property must be a string of digits' })
  installmentNum?: string;
}

export class KiccResultInfo {
  @IsString()
  @IsNotEmpty()
  resultCode!: string;

  /** Required, but the seed's samples send it empty. */
  @IsString()
  resultMessage!: string;
}

export class KiccExtendInfo {
  @IsOptional()
  @IsString()
  AD1?: string;

  @IsOptional()
  @IsString()
  AD2?: string;
}

/** A required nested object: present, an object (not an array), and valid. */
function nested(type: () => new () => object) {
  return function (target: object, property: string) {
    IsDefined()(target, property);
    IsObject()(target, property);
    ValidateNested()(target, property);
    Type(type)(target, property);
  };
}

function optionalNested(type: () => new () => object) {
  return function (target: object, property: string) {
    IsOptional()(target, property);
    IsObject()(target, property);
    ValidateNested()(target, property);
    Type(type)(target, property);
  };
}

// ---------------------------------------------------------------- Purchase

export class PurchaseRequestAcquirerInfo {
  @IsString()
  @IsNotEmpty()
  acquirerTerminalId!: string;

  @IsString()
  @IsNotEmpty()
  acquirerRegistrationNo!: string;
}

export class PurchaseRequest {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  /** Not in the request table, but in the seed's sendCommand sample. */
  @optionalNested(() => KiccAmount)
  taxAmount?: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  /** Seconds, as a string ("30"); the device waits 30 s for a card when absent. */
  @IsOptional()
  @Matches(/^[1-9]\d{0,5}$/, {
    message: '$property must be a whole number of seconds, as a string',
  })
  paymentExpiryTime?: string;

  @nested(() => PurchaseRequestAcquirerInfo)
  acquirerInfo!: PurchaseRequestAcquirerInfo;
}

export class PurchaseResponseAcquirerInfo {
  @IsOptional()
  @IsString()
  acquirerResultCode?: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsString()
  acquirerTerminalId!: string;

  @IsString()
  acquirerRegistrationNo!: string;

  /** Only in signed transactions. Private: see PRIVATE_RESULT_FIELDS. */
  @IsOptional()
  @IsString()
  signData?: string;

  @IsOptional()
  @IsString()
  notice?: string;

  @IsString()
  acquirerTransactionId!: string;

  @IsString()
  acquirerMerchantId!: string;

  @IsString()
  acquirerName!: string;

  /** Needed for the PurchaseCancel of this payment. Private: never logged or published. */
  @IsString()
  @IsNotEmpty()
  acquirerMetaData!: string;

  @IsString()
  acquirerApprovalNum!: string;
}

export class KiccPaymentResultInfo {
  /** "first eight digits of the card": the only card data that may leave the device. */
  @IsOptional()
  @Matches(/^(\d{6,8})?$/, { message: '$property must be a BIN of 6 to 8 digits' })
  cardBin?: string;

  /** A wallet barcode in wallet payments. Private: see PRIVATE_RESULT_FIELDS. */
  @IsOptional()
  @IsString()
  paymentMethodId?: string;

  @IsString()
  issuerCode!: string;

  @IsString()
  funding!: string;

  @IsString()
  paymentMethodRegion!: string;

  @IsString()
  paymentMethodType!: string;
}

export class PurchaseResponse {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => PurchaseResponseAcquirerInfo)
  acquirerInfo!: PurchaseResponseAcquirerInfo;

  @nested(() => KiccPaymentResultInfo)
  paymentResultInfo!: KiccPaymentResultInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

// ---------------------------------------------------------------- PurchaseCancel

export class PurchaseCancelRequestAcquirerInfo {
  /** `acquirerInfo.acquirerMetaData` of the Purchase being cancelled. */
  @IsString()
  @IsNotEmpty()
  acquirerMetaData!: string;

  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;
}

export class PurchaseCancelRequest {
  /** The cancel's own id, unique for each request; not the Purchase's. */
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @optionalNested(() => KiccOptionalCreditPayPlan)
  creditPayPlan?: KiccOptionalCreditPayPlan;

  @nested(() => PurchaseCancelRequestAcquirerInfo)
  acquirerInfo!: PurchaseCancelRequestAcquirerInfo;
}

export class PurchaseCancelResponseAcquirerInfo {
  @IsOptional()
  @IsString()
  notice?: string;

  @IsString()
  acquirerResultCode!: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;

  @IsString()
  acquirerApprovalNum!: string;

  @IsString()
  acquirerMerchantId!: string;

  @IsString()
  acquirerTransactionId!: string;

  @IsOptional()
  @IsString()
  acquirerMetaData?: string;

  @IsString()
  acquirerName!: string;
}

export class PurchaseCancelResponse {
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => PurchaseCancelResponseAcquirerInfo)
  acquirerInfo!: PurchaseCancelResponseAcquirerInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

// ---------------------------------------------------------------- GetLastTransaction

/**
 * The seed gives GetLastTransaction no field table, only a successful Purchase sample whose acquirerInfo lacks
 * fields the Purchase table requires; the last transaction may also have failed. Every acquirerInfo field is
 * therefore optional here, typed when present.
 */
export class LastTransactionAcquirerInfo {
  @IsOptional()
  @IsString()
  acquirerTerminalId?: string;

  @IsOptional()
  @IsString()
  acquirerRegistrationNo?: string;

  @IsOptional()
  @IsString()
  acquirerResultCode?: string;

  @IsOptional()
  @IsString()
  acquirerResultMessage?: string;

  @IsOptional()
  @IsString()
  acquirerTransactionId?: string;

  @IsOptional()
  @IsString()
  acquirerMerchantId?: string;

  @IsOptional()
  @IsString()
  acquirerApprovalNum?: string;

  @IsOptional()
  @IsString()
  acquirerName?: string;

  @IsOptional()
  @IsString()
  notice?: string;

  @IsOptional()
  @IsString()
  signData?: string;

  @IsOptional()
  @IsString()
  acquirerMetaData?: string;
}

abstract class LastTransactionCommon {
  /** Absent from the seed's sample; present, it identifies the transaction. */
  @IsOptional()
  @IsString()
  requestId?: string;

  @nested(() => KiccAmount)
  paymentAmount!: KiccAmount;

  @nested(() => KiccAmount)
  taxAmount!: KiccAmount;

  @nested(() => KiccAmount)
  tipAmount!: KiccAmount;

  @nested(() => KiccCreditPayPlan)
  creditPayPlan!: KiccCreditPayPlan;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @nested(() => LastTransactionAcquirerInfo)
  acquirerInfo!: LastTransactionAcquirerInfo;

  @optionalNested(() => KiccExtendInfo)
  extendInfo?: KiccExtendInfo;
}

export class LastPurchaseResponse extends LastTransactionCommon {
  @Equals('Purchase')
  responseCommand!: 'Purchase';

  @optionalNested(() => KiccPaymentResultInfo)
  paymentResultInfo?: KiccPaymentResultInfo;
}

export class LastPurchaseCancelResponse extends LastTransactionCommon {
  @Equals('PurchaseCancel')
  responseCommand!: 'PurchaseCancel';
}

export type GetLastTransactionResponse = LastPurchaseResponse | LastPurchaseCancelResponse;

// ---------------------------------------------------------------- failures

/** `responseData` of `onBusinessFailed(CommandResult)`: the seed's sample has requestId, result, `acquirerInfo: {}`. */
export class KiccBusinessFailureData {
  @IsOptional()
  @IsString()
  requestId?: string;

  @nested(() => KiccResultInfo)
  result!: KiccResultInfo;

  @optionalNested(() => LastTransactionAcquirerInfo)
  acquirerInfo?: LastTransactionAcquirerInfo;
}

// ---------------------------------------------------------------- parsing

/** GetLastTransaction and CommandCancel take an empty JSONObject. */
export type KiccEmptyParams = Record<string, never>;

export interface KiccRequestByCommand {
  Purchase: PurchaseRequest;
  PurchaseCancel: PurchaseCancelRequest;
  GetLastTransaction: KiccEmptyParams;
  CommandCancel: KiccEmptyParams;
}

export interface KiccResponseByCommand {
  Purchase: PurchaseResponse;
  PurchaseCancel: PurchaseCancelResponse;
  GetLastTransaction: GetLastTransactionResponse;
  /** The seed shows no CommandCancel responseData: any object, unread. */
  CommandCancel: Record<string, unknown>;
}

type Schema = new () => object;

const REQUEST_SCHEMAS: Record<KiccCommandName, Schema | null> = {
  Purchase: PurchaseRequest,
  PurchaseCancel: PurchaseCancelRequest,
  GetLastTransaction: null,
  CommandCancel: null,
};

function invalid(what: string, violations: Violation[]): KiccProtocolError {
  // violations name fields and constraints only: validatePlain is told never to echo values
  return new KiccProtocolError('INVALID_COMMAND', `${what}: ${describeViolations(violations)}`, {
    violations,
  });
}

function requireObject(what: string, input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new KiccProtocolError('INVALID_COMMAND', `${what} must be a JSON object`);
  }
  assertPlainJson(input);
  return input as Record<string, unknown>;
}

function validated<T extends object>(
  schema: new () => T,
  input: unknown,
  what: string,
  strict: boolean,
): T {
  const result = validatePlain(
    schema,
    input,
    strict ? { forbidUnknown: true } : { forbidUnknown: false, stripUnknown: true },
  );
  if (!result.ok) throw invalid(what, result.violations);
  return result.value;
}

/**
 * Validates the `commandRequestParams` edc-command is about to send. Strict: a field the seed does not define is
 * refused, so nothing extra (card data least of all) can ride along.
 */
export function parseKiccCommandRequest<C extends KiccCommandName>(
  commandName: C,
  input: unknown,
): KiccRequestByCommand[C] {
  const what = `${commandName} request`;
  const object = requireObject(what, input);
  assertNoCardData(object, 'result');
  const schema = REQUEST_SCHEMAS[commandName];
  if (schema === null) {
    if (Object.keys(object).length > 0) {
      throw new KiccProtocolError('INVALID_COMMAND', `${what} takes no parameters`);
    }
    return {} as KiccRequestByCommand[C];
  }
  return validated(schema, object, what, true) as KiccRequestByCommand[C];
}

/**
 * Validates an `onSuccess` `responseData`. Lenient about fields the seed does not list (dropped, so they never
 * travel further), strict about the ones it does.
 */
export function parseKiccCommandResponse<C extends KiccCommandName>(
  commandName: C,
  input: unknown,
): KiccResponseByCommand[C] {
  const what = `${commandName} response`;
  const object = requireObject(what, input);
  assertNoCardData(object, 'result');
  switch (commandName) {
    case 'Purchase':
      return validated(PurchaseResponse, object, what, false) as KiccResponseByCommand[C];
    case 'PurchaseCancel':
      return validated(PurchaseCancelResponse, object, what, false) as KiccResponseByCommand[C];
    case 'GetLastTransaction':
      return parseLastTransaction(object) as KiccResponseByCommand[C];
    default:
      return object as KiccResponseByCommand[C];
  }
}

function parseLastTransaction(object: Record<string, unknown>): GetLastTransactionResponse {
  const what = 'GetLastTransaction response';
  if (object.responseCommand === 'Purchase') {
    return validated(LastPurchaseResponse, object, what, false);
  }
  if (object.responseCommand === 'PurchaseCancel') {
    return validated(LastPurchaseCancelResponse, object, what, false);
  }
  throw new KiccProtocolError(
    'INVALID_COMMAND',
    `${what}: responseCommand must be Purchase or PurchaseCancel`,
  );
}

export function parseKiccBusinessFailure(input: unknown): KiccBusinessFailureData {
  const what = 'onBusinessFailed responseData';
  const object = requireObject(what, input);
  assertNoCardData(object, 'result');
  return validated(KiccBusinessFailureData, object, what, false);
}

// ---------------------------------------------------------------- recovery

export interface LastTransactionMatch {
  verdict: EdcRecoveryVerdict;
  /** `result.resultCode` of the last transaction when it is ours. */
  code?: string;
  reason: string;
}

export interface CommandUnderRecovery {
  commandName: 'Purchase' | 'PurchaseCancel';
  requestId: string;
  paymentAmount: { value: string; currency: string };
  /** `acquirerInfo.acquirerTerminalId` the command was sent with, when it had one. */
  acquirerTerminalId?: string;
}

export interface MatchOptions {
  /**
   * The seed's GetLastTransaction sample carries no requestId, so an answer without one can only be matched on
   * evidence. Absent (the default), such an answer never settles anything. Given, an answer without requestId
   * counts as ours only when all of this holds:
   * - the same command, amount and currency (and terminal, when both name one);
   * - `result.resultCode` is SUCCESS;
   * - it carries an `acquirerTransactionId`, and that id is not `previousTransactionId`, the id of the last
   *   transaction the device completed before this command was sent; null when the device reported that it had
   *   no transaction before this command (then any transaction it reports now is newer).
   *
   * The caller must guarantee that nothing else ran on the device since then (edc-command holds the device lock
   * from dispatch to the end of recovery), so the device's last transaction is either ours or that previous one.
   * The previous payment of the same amount therefore cannot pass for this one. A failure without requestId is
   * never matched: it may be an older failure, and "failed" would invite a second charge.
   */
  acceptWithoutRequestId?: { previousTransactionId: string | null };
}

/** Reads a GetLastTransaction answer for the command a recovery is about. Only a proven match settles it. */
export function matchLastTransaction(
  command: CommandUnderRecovery,
  last: GetLastTransactionResponse,
  options: MatchOptions = {},
): LastTransactionMatch {
  if (last.responseCommand !== command.commandName) {
    return { verdict: 'inconclusive', reason: `the last transaction is a ${last.responseCommand}` };
  }
  if (last.requestId !== undefined && last.requestId !== command.requestId) {
    return { verdict: 'inconclusive', reason: 'the last transaction is another request' };
  }
  const code = last.result.resultCode;
  if (last.requestId === undefined) return matchWithoutRequestId(command, last, options);
  if (code === KICC_SUCCESS_RESULT_CODE)
    return { verdict: 'succeeded', code, reason: 'ours, succeeded' };
  if (kiccBusinessFailureOutcome(code, command.commandName) === 'UNKNOWN') {
    return { verdict: 'inconclusive', code, reason: 'ours, with a result that does not settle it' };
  }
  return { verdict: 'failed', code, reason: 'ours, failed' };
}

function matchWithoutRequestId(
  command: CommandUnderRecovery,
  last: GetLastTransactionResponse,
  options: MatchOptions,
): LastTransactionMatch {
  const sameAmount =
    last.paymentAmount.value === command.paymentAmount.value &&
    last.paymentAmount.currency === command.paymentAmount.currency;
  if (!sameAmount) {
    return { verdict: 'inconclusive', reason: 'the last transaction has another amount' };
  }
  const evidence = options.acceptWithoutRequestId;
  if (!evidence) {
    return { verdict: 'inconclusive', reason: 'the last transaction carries no requestId' };
  }
  const terminal = last.acquirerInfo.acquirerTerminalId;
  if (command.acquirerTerminalId && terminal && terminal !== command.acquirerTerminalId) {
    return {
      verdict: 'inconclusive',
      reason: 'the last transaction ran on another acquirer terminal',
    };
  }
  const code = last.result.resultCode;
  if (code !== KICC_SUCCESS_RESULT_CODE) {
    return {
      verdict: 'inconclusive',
      code,
      reason: 'a failure without requestId may be an older one',
    };
  }
  const transactionId = last.acquirerInfo.acquirerTransactionId;
  if (!transactionId) {
    return { verdict: 'inconclusive', reason: 'the last transaction has no acquirerTransactionId' };
  }
  if (evidence.previousTransactionId !== null && transactionId === evidence.previousTransactionId) {
    return {
      verdict: 'inconclusive',
      reason: 'the last transaction is the one before this command',
    };
  }
  return {
    verdict: 'succeeded',
    code,
    reason: "same command and amount, and a transaction newer than the device's previous one",
  };
}
