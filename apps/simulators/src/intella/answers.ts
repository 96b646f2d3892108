import type { JsonObject } from '@tillbus/protocols-intella';

/** What intella answers, before it is built into a response and sealed. */
export class SimAnswer {
  constructor(
    readonly statusCode: string,
    readonly statusDesc: string,
    readonly data?: JsonObject,
  ) {}
}

export function answer(code: string, desc: string, data?: JsonObject): SimAnswer {
  return new SimAnswer(code, desc, data);
}

/** A successful call whose EasyCard outcome is `errorCode` (000000: the reader did it). */
export function easyCardAnswer(errorCode: string, extra: JsonObject = {}): SimAnswer {
  return answer('0000', 'STATUS_SUCCESS', {
    TXNResult: errorCode === '000000' ? 'Success' : 'Fail',
    Retry: '0',
    ErrorCode: errorCode,
    ...extra,
  });
}
