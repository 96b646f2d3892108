import { sealResponse } from './envelope-server';
import { answer, easyCardAnswer, type SimAnswer } from './answers';
import { INTELLA_UNKNOWN_VALUES, type ActiveFault } from './faults';

/**
 * The answer a business fault puts in place of the real one; undefined for faults that act on the transport
 * (no answer, slow, HTTP 500, broken envelopes) or on the fields of a real answer.
 */
export function faultedAnswer(
  fault: ActiveFault | undefined,
  retry: string,
): SimAnswer | undefined {
  switch (fault?.kind) {
    case 'bad-trade-key':
      return answer('7105', 'TradeKey error');
    case 'system-error':
      return answer('9995', 'system error');
    case 'unavailable':
      return answer('9999', 'service unavailable');
    case 'failed':
      return answer('9998', 'failed');
    case 'ongoing':
      return answer('9997', 'ongoing');
    case 'deactivated':
      return answer('7167', 'device deactivated');
    case 'retry':
      return easyCardAnswer('000125', { Retry: String(Number(retry) + 1) });
    case 'card-read-error':
      return easyCardAnswer('046201', { Retry: String(Number(retry) + 1) });
    case 'reader-in-use':
      return easyCardAnswer('900001');
    case 'dongle-mismatch':
      return easyCardAnswer('900002');
    case 'unsettled':
      return easyCardAnswer('010117');
    case 'unknown-status':
      return answer(INTELLA_UNKNOWN_VALUES.statusCode, 'a code this project does not know');
    default:
      return undefined;
  }
}

/**
 * The sealed answer with every `=` written as the literal `\u003d`. Base64 of whole AES blocks ends in `=` unless
 * the block count is a multiple of 3, so Data.Padding grows by one block until there is one to escape.
 */
export function escapedEquals(
  response: { Header: object; Data?: unknown },
  aesKey: Buffer,
  iv: string,
): string {
  let padding = '';
  for (;;) {
    const data = padding
      ? { ...(response.Data as object | undefined), Padding: padding }
      : response.Data;
    const sealed = sealResponse({ ...response, Data: data }, aesKey, iv).Response;
    if (sealed.includes('=')) return sealed.replace(/=/g, '\\u003d');
    padding += '0123456789abcdef';
  }
}

/** Flips bits in the last block, so the padding (and the JSON) no longer check out. */
export function corrupt(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  for (let i = Math.max(0, bytes.length - 16); i < bytes.length; i++) bytes[i] ^= 0x5a;
  return bytes.toString('base64');
}
