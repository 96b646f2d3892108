import type { KiccCommandName } from '@tillbus/result-codes';
import { describeViolations, validatePlain, type Violation } from '@tillbus/validation';
import { assertNoCardData, assertPlainJson } from './card-data';
import {
  KiccBusinessFailureData,
  LastPurchaseCancelResponse,
  LastPurchaseResponse,
  PurchaseCancelRequest,
  PurchaseCancelResponse,
  PurchaseRequest,
  PurchaseResponse,
  type GetLastTransactionResponse,
} from './command-schemas';
import { KiccProtocolError } from './errors';

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
