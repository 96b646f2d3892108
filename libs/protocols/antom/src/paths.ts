/** API paths; every one is POST. The path is part of the signed content. */
export const ANTOM_PATHS = {
  DIAGNOSIS: '/v2/device/diagnosis',
  CREATE_ORDER: '/v2/pos/createOrder',
  INQUIRE_ORDER_DETAIL: '/v2/pos/inquireOrderDetail',
  PUSH_ORDER_CHANGE: '/v2/pos/pushOrderChange',
  NOTIFY_ORDER_CHANGE: '/v2/pos/notifyOrderChange',
} as const;

export type AntomApi = keyof typeof ANTOM_PATHS;

export const ANTOM_METHOD = 'POST';

export const ANTOM_CONTENT_TYPE = 'application/json; charset=UTF-8';
