import { describe, expect, it } from 'vitest';
import { encodeBridgeMessage, parseBridgeMessage, readBridgeMessage } from './bridge-codec';
import type { BridgeMessage } from './bridge-schemas';
import { bridgeMessageToEdcEvent } from './bridge-traffic';
import { MAX_BRIDGE_MESSAGE_BYTES } from './json';
import { EXAMPLES, SENT_AT } from './test/bridge-examples';
import {
  ACQUIRER_META_DATA,
  businessFailure,
  errorOf,
  purchaseCancelRequest,
  purchaseRequest,
  purchaseResponse,
} from './test/fixtures';

const clone = <T>(value: T): T => structuredClone(value) as T;

describe('parseBridgeMessage', () => {
  it.each(Object.entries(EXAMPLES))(
    'reads the documented %s example from text and bytes',
    (_type, example) => {
      const text = JSON.stringify(example);
      expect(parseBridgeMessage(text)).toEqual(example);
      expect(parseBridgeMessage(Buffer.from(text))).toEqual(example);
      expect(parseBridgeMessage(new TextEncoder().encode(text))).toEqual(example);
    },
  );

  it('reads a PurchaseCancel command, which carries acquirerMetaData to the bridge', () => {
    const command = {
      ...clone(EXAMPLES.command),
      commandName: 'PurchaseCancel',
      body: { commandRequestParams: purchaseCancelRequest(), notAfter: SENT_AT },
    };
    expect(parseBridgeMessage(JSON.stringify(command))).toEqual(command);
  });

  it('reads a CommandCancel naming the command it cancels', () => {
    const cancel = {
      ...clone(EXAMPLES.command),
      requestId: 'cancel-1',
      commandName: 'CommandCancel',
      body: { commandRequestParams: {}, notAfter: SENT_AT, targetRequestId: '123456XXXX' },
    };
    expect(parseBridgeMessage(JSON.stringify(cancel))).toEqual(cancel);
  });

  it.each([
    ['v 3', { v: 3 }, 'UNSUPPORTED_VERSION'],
    ['v as a string', { v: '1' }, 'UNSUPPORTED_VERSION'],
    ['no v', { v: undefined }, 'UNSUPPORTED_VERSION'],
    ['an unknown type', { type: 'status' }, 'INVALID_MESSAGE'],
    ['no deviceId', { deviceId: undefined }, 'INVALID_MESSAGE'],
    ['a deviceId with a dot', { deviceId: 'a.b' }, 'INVALID_MESSAGE'],
    ['a requestId with a space', { requestId: 'a b' }, 'INVALID_MESSAGE'],
    ['a requestId with a dot', { requestId: 'a.b' }, 'INVALID_MESSAGE'],
    ['a command name that is not a code', { commandName: 7 }, 'INVALID_MESSAGE'],
    ['a negative sentAt', { sentAt: -1 }, 'INVALID_MESSAGE'],
    ['a fractional sentAt', { sentAt: 1.5 }, 'INVALID_MESSAGE'],
    ['seq 0', { seq: 0 }, 'INVALID_MESSAGE'],
    ['an event code that is not a code', { body: { code: ['READY', 1] } }, 'INVALID_MESSAGE'],
    ['a body that is an array', { body: [] }, 'INVALID_MESSAGE'],
    [
      'a PAN in the event message',
      { body: { code: 'CARD_MISSING', message: '5236497912345678' } },
      'CARD_DATA_REFUSED',
    ],
    [
      'acquirerMetaData in an event',
      { body: { code: 'READY', acquirerMetaData: ACQUIRER_META_DATA } },
      'CARD_DATA_REFUSED',
    ],
    ['a card number beside the body', { pan: '5236497912345678' }, 'CARD_DATA_REFUSED'],
  ])('refuses an event with %s', (_label, change, code) => {
    const message = { ...clone(EXAMPLES.event), ...change };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(message))).code).toBe(code);
  });

  it('accepts a long numeric requestId: ids are not card numbers', () => {
    const message = { ...clone(EXAMPLES.event), requestId: '20250101123456789' };
    expect(parseBridgeMessage(JSON.stringify(message))).toMatchObject({
      requestId: '20250101123456789',
    });
  });

  it.each([
    [
      'a requestId unlike the params',
      { requestId: 'other' },
      'requestId must equal commandRequestParams.requestId',
    ],
    [
      'params the seed does not define',
      { body: { commandRequestParams: { ...purchaseRequest(), x: 1 }, notAfter: 1 } },
      'Purchase request: x: property x should not exist',
    ],
    [
      'missing params',
      { body: { notAfter: 1 } },
      'body.commandRequestParams: commandRequestParams must be an object',
    ],
    [
      'a targetRequestId on a Purchase',
      { body: { commandRequestParams: purchaseRequest(), notAfter: 1, targetRequestId: 'x' } },
      'body.targetRequestId is required with CommandCancel and only with it',
    ],
  ])('refuses a command with %s', (_label, change, message) => {
    const command = { ...clone(EXAMPLES.command), ...change };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(command))).message).toBe(message);
  });

  it('refuses a CommandCancel without targetRequestId', () => {
    const cancel = {
      ...clone(EXAMPLES.command),
      commandName: 'CommandCancel',
      body: { commandRequestParams: {}, notAfter: 1 },
    };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(cancel))).message).toBe(
      'body.targetRequestId is required with CommandCancel and only with it',
    );
  });

  it.each([
    [
      'onSuccess without responseData',
      { callback: 'onSuccess' },
      'onSuccess carries responseData and no failure',
    ],
    [
      'onSuccess with a failure',
      { callback: 'onSuccess', responseData: {}, failure: { code: 'X' } },
      'onSuccess carries responseData and no failure',
    ],
    [
      'onCommandFailed without failure',
      { callback: 'onCommandFailed' },
      'onCommandFailed carries body.failure',
    ],
    [
      'onBusinessFailed without failure',
      { callback: 'onBusinessFailed', responseData: businessFailure() },
      'onBusinessFailed carries body.failure',
    ],
  ])('refuses a result: %s', (_label, body, message) => {
    const result = { ...clone(EXAMPLES.result), body };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(result))).message).toBe(message);
  });

  it('refuses a result with a full card number as its BIN, without echoing it', () => {
    const responseData = purchaseResponse();
    responseData.paymentResultInfo.cardBin = '5236497912345678';
    const error = errorOf(() =>
      parseBridgeMessage(
        JSON.stringify({
          ...clone(EXAMPLES.result),
          body: { callback: 'onSuccess', responseData },
        }),
      ),
    );
    expect(error.code).toBe('CARD_DATA_REFUSED');
    expect(error.details).toEqual({ paths: ['body.responseData.paymentResultInfo.cardBin'] });
    expect(JSON.stringify(error.details) + error.message).not.toContain('5236497912345678');
  });

  it('refuses acquirerMetaData in a heartbeat or an ack', () => {
    const heartbeat = clone(EXAMPLES.heartbeat) as unknown as { body: Record<string, unknown> };
    heartbeat.body.acquirerMetaData = ACQUIRER_META_DATA;
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(heartbeat))).code).toBe(
      'CARD_DATA_REFUSED',
    );
    const ack = {
      ...clone(EXAMPLES.ack),
      body: { status: 'accepted', detail: { acquirerMetaData: 'x' } },
    };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(ack))).code).toBe('CARD_DATA_REFUSED');
  });

  it('keeps fields this version does not know, at every level, and names them', () => {
    const newer = {
      ...clone(EXAMPLES.heartbeat),
      futureField: 1,
      body: { ...clone(EXAMPLES.heartbeat.body), battery: 80 },
    };
    const read = readBridgeMessage(JSON.stringify(newer));
    expect(read.message).toEqual(newer);
    expect([...read.unknownFields].sort()).toEqual(['body.battery', 'futureField']);
    expect(read.unrecognised).toEqual([]);
  });

  it.each([
    ['an event code', 'event', { body: { code: 'CARD_EATEN' } }, 'body.code', 'CARD_EATEN'],
    ['a command name', 'event', { commandName: 'Refund' }, 'commandName', 'Refund'],
    ['an ack status', 'ack', { body: { status: 'queued' } }, 'body.status', 'queued'],
    [
      'a result callback',
      'result',
      { body: { callback: 'onPartial', responseData: {} } },
      'body.callback',
      'onPartial',
    ],
  ] as const)(
    'keeps and reports an unknown %s; the message is still read',
    (_l, type, change, field, value) => {
      const message = { ...clone(EXAMPLES[type]), ...change };
      const read = readBridgeMessage(JSON.stringify(message));
      expect(read.message).toMatchObject(change);
      expect(read.unrecognised).toEqual([{ field, value }]);
    },
  );

  it('reports an unknown init code in a heartbeat and keeps the rest', () => {
    const heartbeat = clone(EXAMPLES.heartbeat);
    const devices = [{ deviceId: 'd', provider: 'KICC', init: { code: 'INIT_MAYBE' } }];
    const read = readBridgeMessage(
      JSON.stringify({ ...heartbeat, body: { ...heartbeat.body, devices } }),
    );
    expect(read.unrecognised).toEqual([
      { field: 'body.devices[0].init.code', value: 'INIT_MAYBE' },
    ]);
    expect(read.message.type === 'heartbeat' && read.message.body.devices).toEqual(devices);
  });

  it('unknown codes move no lifecycle: they settle nothing', () => {
    const event = parseBridgeMessage(
      JSON.stringify({ ...clone(EXAMPLES.event), body: { code: 'CARD_EATEN' } }),
    );
    expect(bridgeMessageToEdcEvent(event, 1)).toBeNull();
    const ack = parseBridgeMessage(
      JSON.stringify({ ...clone(EXAMPLES.ack), body: { status: 'queued' } }),
    );
    expect(bridgeMessageToEdcEvent(ack, 1)).toBeNull();
    const result = parseBridgeMessage(
      JSON.stringify({ ...clone(EXAMPLES.result), body: { callback: 'onPartial' } }),
    );
    expect(bridgeMessageToEdcEvent(result, 1)).toBeNull();
  });

  it('still reads the commands it sends strictly', () => {
    const command = { ...clone(EXAMPLES.command), commandName: 'Refund' };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(command))).code).toBe('INVALID_MESSAGE');
  });

  it.each([
    ['an interval under 1 s', { intervalMs: 999 }],
    ['an interval over 60 s', { intervalMs: 60_001 }],
    ['no protocol versions', { protocolVersions: [] }],
    [
      'an init code that is not a code',
      { devices: [{ deviceId: 'd', provider: 'KICC', init: { code: 1 } }] },
    ],
    ['another provider', { devices: [{ deviceId: 'd', provider: 'NICE' }] }],
  ])('refuses a heartbeat with %s', (_label, change) => {
    const heartbeat = {
      ...clone(EXAMPLES.heartbeat),
      body: { ...clone(EXAMPLES.heartbeat.body), ...change },
    };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(heartbeat))).code).toBe(
      'INVALID_MESSAGE',
    );
  });

  it.each([
    ['text that is not JSON', '{"v":1', 'INVALID_JSON'],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'INVALID_JSON'],
    ['a JSON array', '[1]', 'INVALID_MESSAGE'],
    ['JSON null', 'null', 'INVALID_MESSAGE'],
    ['a __proto__ key', '{"v":1,"__proto__":{"type":"event"}}', 'INVALID_JSON'],
    ['a number', 42, 'INVALID_INPUT'],
    ['an object', { v: 1 }, 'INVALID_INPUT'],
    ['too many bytes', 'x'.repeat(MAX_BRIDGE_MESSAGE_BYTES + 1), 'TOO_LARGE'],
  ])('refuses %s', (_label, input, code) => {
    expect(errorOf(() => parseBridgeMessage(input)).code).toBe(code);
  });

  it('checks the subject a message arrived on', () => {
    const event = JSON.stringify(EXAMPLES.event);
    expect(
      parseBridgeMessage(event, { subject: 'tillbus.edc.bridge.pos-0042-edc.events' }).type,
    ).toBe('event');
    expect(
      errorOf(() => parseBridgeMessage(event, { subject: 'tillbus.edc.bridge.other.events' })).code,
    ).toBe('INVALID_MESSAGE');
    expect(
      errorOf(() =>
        parseBridgeMessage(event, { subject: 'tillbus.edc.bridge.pos-0042-edc.command' }),
      ).code,
    ).toBe('INVALID_MESSAGE');
    const heartbeat = JSON.stringify(EXAMPLES.heartbeat);
    expect(
      parseBridgeMessage(heartbeat, { subject: 'tillbus.edc.bridge.heartbeat.store-0042-pos-1' })
        .type,
    ).toBe('heartbeat');
    expect(
      errorOf(() =>
        parseBridgeMessage(heartbeat, { subject: 'tillbus.edc.bridge.heartbeat.other' }),
      ).code,
    ).toBe('INVALID_MESSAGE');
    // an ack is the reply to a command request, on an inbox
    expect(parseBridgeMessage(JSON.stringify(EXAMPLES.ack), { subject: '_INBOX.x.y' }).type).toBe(
      'ack',
    );
  });
});

describe('encodeBridgeMessage', () => {
  it('refuses a field the schema does not define instead of sending it', () => {
    const message = { ...clone(EXAMPLES.event), extra: 1 } as unknown as BridgeMessage;
    expect(errorOf(() => encodeBridgeMessage(message)).code).toBe('INVALID_MESSAGE');
  });

  it('refuses card data instead of sending it', () => {
    const message = {
      ...clone(EXAMPLES.event),
      body: { code: 'READY', message: '5236 4979 1234 5678' },
    } as unknown as BridgeMessage;
    expect(errorOf(() => encodeBridgeMessage(message)).code).toBe('CARD_DATA_REFUSED');
  });
});
