import { describe, expect, it } from 'vitest';
import { KICC_EVENT_CODE_LIST } from '@tillbus/result-codes';
import { parseBridgeMessage } from './bridge-codec';
import { bridgeMessageToEdcEvent, classifySeq, isBridgeOffline } from './bridge-traffic';
import { BRIDGE_ACK_STATUSES, type BridgeAckStatus } from './bridge-vocabulary';
import { EXAMPLES, SENT_AT } from './test/bridge-examples';
import { businessFailure, purchaseResponse } from './test/fixtures';

describe('reading bridge traffic', () => {
  const at = SENT_AT + 1;
  const parse = (message: unknown) => parseBridgeMessage(JSON.stringify(message));

  it.each(KICC_EVENT_CODE_LIST)('event %s becomes a device_event', (code) => {
    expect(bridgeMessageToEdcEvent(parse({ ...EXAMPLES.event, body: { code } }), at)).toEqual({
      type: 'device_event',
      code,
      at,
    });
  });

  it.each([
    [
      'onSuccess',
      { callback: 'onSuccess', responseData: purchaseResponse() },
      { type: 'onSuccess', resultCode: 'SUCCESS', at },
    ],
    [
      'onSuccess without result',
      { callback: 'onSuccess', responseData: {} },
      { type: 'onSuccess', resultCode: '', at },
    ],
    [
      'onCommandFailed',
      { callback: 'onCommandFailed', failure: { code: 'CommandResponseTimeout' } },
      { type: 'onCommandFailed', code: 'CommandResponseTimeout', at },
    ],
    [
      'onBusinessFailed',
      {
        callback: 'onBusinessFailed',
        failure: { code: 'PROCESS_FAIL', message: 'Please check network' },
        responseData: businessFailure(),
      },
      { type: 'onBusinessFailed', code: 'PROCESS_FAIL', at },
    ],
  ])('a Purchase %s result', (_label, body, expected) => {
    expect(bridgeMessageToEdcEvent(parse({ ...EXAMPLES.result, body }), at)).toEqual(expected);
  });

  it.each([
    ['onSuccess', { callback: 'onSuccess', responseData: {} }, { type: 'cancel_confirmed', at }],
    [
      'onCommandFailed',
      { callback: 'onCommandFailed', failure: { code: 'CommandInvalid' } },
      { type: 'cancel_refused', code: 'CommandInvalid', at },
    ],
  ])('a CommandCancel %s result acts on the cancelled record', (_label, body, expected) => {
    const message = parse({
      ...EXAMPLES.result,
      requestId: 'cancel-1',
      commandName: 'CommandCancel',
      body,
    });
    expect(bridgeMessageToEdcEvent(message, at)).toEqual(expected);
  });

  it("reads an answered GetLastTransaction as the query's success, whatever the last transaction said", () => {
    const message = parse({
      ...EXAMPLES.result,
      requestId: 'glt-1',
      commandName: 'GetLastTransaction',
      body: {
        callback: 'onSuccess',
        responseData: {
          responseCommand: 'Purchase',
          paymentAmount: { value: '104', currency: 'KRW' },
          taxAmount: { value: '9', currency: 'KRW' },
          tipAmount: { value: '0', currency: 'KRW' },
          creditPayPlan: { installmentNum: '0' },
          result: { resultCode: 'USER_BALANCE_NOT_ENOUGH', resultMessage: '' },
          acquirerInfo: {},
        },
      },
    });
    expect(bridgeMessageToEdcEvent(message, at)).toEqual({
      type: 'onSuccess',
      resultCode: 'SUCCESS',
      at,
    });
  });

  it.each(Object.keys(BRIDGE_ACK_STATUSES) as BridgeAckStatus[])('ack %s', (status) => {
    const purchase = bridgeMessageToEdcEvent(parse({ ...EXAMPLES.ack, body: { status } }), at);
    const cancel = bridgeMessageToEdcEvent(
      parse({ ...EXAMPLES.ack, commandName: 'CommandCancel', body: { status } }),
      at,
    );
    if (status === 'accepted' || status === 'duplicate') {
      expect(purchase).toBeNull();
      expect(cancel).toBeNull();
    } else {
      expect(purchase).toEqual({ type: 'bridge_refused', code: status, at });
      expect(cancel).toEqual({ type: 'cancel_refused', code: status, at });
    }
  });

  it('says nothing for commands and heartbeats', () => {
    expect(bridgeMessageToEdcEvent(parse(EXAMPLES.command), at)).toBeNull();
    expect(bridgeMessageToEdcEvent(parse(EXAMPLES.heartbeat), at)).toBeNull();
  });

  it.each([
    [0, 1, 'next'],
    [4, 5, 'next'],
    [5, 5, 'duplicate'],
    [5, 3, 'duplicate'],
    [5, 7, 'gap'],
  ] as const)('after seq %i, seq %i is %s', (last, next, verdict) => {
    expect(classifySeq(last, next)).toBe(verdict);
  });

  it.each([
    [5000, 15_000, false],
    [5000, 15_001, true],
    [1000, 3_001, true],
  ])('with a %i ms interval, silent for %i ms, offline is %s', (interval, silence, offline) => {
    expect(isBridgeOffline(SENT_AT, interval, SENT_AT + silence)).toBe(offline);
  });
});
