import type { JsonObject } from './codec';
import { IntellaProtocolError } from './errors';

/** protocols.md §6: stop after 3 tries and surface the error. Tries count every request, the first one included. */
export const EASYCARD_MAX_TRIES = 3;

export interface EasyCardRetryInput {
  serviceType: string;
  /** The Data of the request that failed. */
  requestData: JsonObject;
  /** The Data intella answered with; null when the answer had none. */
  responseData: JsonObject | null;
  /** Requests already sent for this operation, the original included (1 after the first failure). */
  triesSoFar: number;
  maxTries?: number;
}

export type EasyCardRetryDecision =
  | { kind: 'RETRY'; serviceType: string; data: JsonObject; attempt: number }
  | { kind: 'NO_RETRY_REQUESTED' }
  | { kind: 'RETRY_LIMIT_REACHED'; tries: number; retry: string };

const RETRY_VALUE = /^\d{1,9}$/;

/**
 * The EasyCard Retry rule: when the answer's Data.Retry is 1 or more, resend the same ServiceType with
 * Retry = that value, taking every request field the answer also returned (same name) from the answer.
 * Names are matched exactly: the answer's DeviceID is a different identifier from the request's DeviceId.
 */
export function planEasyCardRetry(input: EasyCardRetryInput): EasyCardRetryDecision {
  if (!Number.isInteger(input.triesSoFar) || input.triesSoFar < 1) {
    throw new IntellaProtocolError('SCHEMA_INVALID', 'triesSoFar must be a positive integer', {
      fields: ['triesSoFar'],
    });
  }
  const response = input.responseData ?? {};
  const retry = readRetry(response.Retry);
  if (retry === undefined) return { kind: 'NO_RETRY_REQUESTED' };
  const maxTries = input.maxTries ?? EASYCARD_MAX_TRIES;
  if (input.triesSoFar >= maxTries)
    return { kind: 'RETRY_LIMIT_REACHED', tries: input.triesSoFar, retry };
  const data: JsonObject = { ...input.requestData };
  for (const field of Object.keys(input.requestData)) {
    const returned = response[field];
    if (Object.prototype.hasOwnProperty.call(response, field) && isScalar(returned))
      data[field] = returned;
  }
  data.Retry = retry;
  return { kind: 'RETRY', serviceType: input.serviceType, data, attempt: input.triesSoFar + 1 };
}

/** Data.Retry as the string to send back, or undefined when no retry is asked for (absent or 0). */
function readRetry(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !RETRY_VALUE.test(text)) {
    throw new IntellaProtocolError('SCHEMA_INVALID', 'Data.Retry must be a non-negative integer', {
      fields: ['Data.Retry'],
    });
  }
  return Number(text) === 0 ? undefined : text;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
