import type { BridgeMessage } from '../bridge-schemas';
import { purchaseRequest, purchaseResponse } from './fixtures';

export const SENT_AT = 1_735_689_600_000;

/** The examples of docs/bridge-protocol.md, one per message type. */
export const EXAMPLES = {
  command: {
    v: 1,
    type: 'command',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    sentAt: SENT_AT,
    body: { commandRequestParams: purchaseRequest(), notAfter: SENT_AT + 10_000 },
  },
  ack: {
    v: 1,
    type: 'ack',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    sentAt: SENT_AT + 40,
    body: { status: 'accepted' },
  },
  event: {
    v: 1,
    type: 'event',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    seq: 1,
    sentAt: SENT_AT + 300,
    body: { code: 'READY' },
  },
  result: {
    v: 1,
    type: 'result',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    seq: 5,
    sentAt: SENT_AT + 21_000,
    body: { callback: 'onSuccess', responseData: purchaseResponse() },
  },
  heartbeat: {
    v: 1,
    type: 'heartbeat',
    bridgeId: 'store-0042-pos-1',
    seq: 1207,
    sentAt: SENT_AT,
    body: {
      startedAt: SENT_AT - 6_035_000,
      intervalMs: 5000,
      appVersion: '1.4.2',
      sdk: { instoreCore: '1.25.0', instoreEdcCmd: '1.1.0' },
      protocolVersions: [1],
      devices: [
        {
          deviceId: 'pos-0042-edc',
          provider: 'KICC',
          init: { code: 'INIT_SUCCESS' },
          runningRequestId: '123456XXXX',
        },
      ],
    },
  },
  journal_query: {
    v: 2,
    type: 'journal_query',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    sentAt: SENT_AT + 95_000,
    body: { close: true },
  },
  journal: {
    v: 2,
    type: 'journal',
    deviceId: 'pos-0042-edc',
    requestId: '123456XXXX',
    commandName: 'Purchase',
    sentAt: SENT_AT + 95_020,
    body: { state: 'not_received', journalSince: SENT_AT - 6_035_000 },
  },
} as const satisfies Record<BridgeMessage['type'], unknown>;
