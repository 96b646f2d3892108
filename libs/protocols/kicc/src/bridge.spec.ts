import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KICC_EVENT_CODE_LIST, KICC_INIT_CODE_LIST } from '@tillbus/result-codes';
import {
  BRIDGE_ACK_STATUSES,
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  bridgeDedupeKey,
  bridgeMessageId,
  bridgeMessageToEdcEvent,
  classifySeq,
  encodeBridgeMessage,
  isBridgeOffline,
  kiccBridgeSubject,
  parseBridgeMessage,
  readBridgeMessage,
  readKiccBridgeSubject,
  type BridgeAckStatus,
  type BridgeMessage,
} from './bridge';
import { KiccProtocolError } from './errors';
import { MAX_BRIDGE_MESSAGE_BYTES } from './json';
import {
  ACQUIRER_META_DATA,
  purchaseCancelRequest,
  purchaseRequest,
  purchaseResponse,
  businessFailure,
} from './test/fixtures';

const SENT_AT = 1_735_689_600_000;

/** The examples of docs/bridge-protocol.md, one per message type. */
const EXAMPLES = {
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
} as const satisfies Record<BridgeMessage['type'], unknown>;

const clone = <T>(value: T): T => structuredClone(value) as T;

function errorOf(run: () => unknown): KiccProtocolError {
  try {
    run();
  } catch (error) {
    if (error instanceof KiccProtocolError) return error;
    throw error;
  }
  throw new Error('expected a KiccProtocolError');
}

describe('subjects', () => {
  it.each([
    ['command', 'pos-0042-edc', 'tillbus.edc.bridge.pos-0042-edc.command'],
    ['events', 'pos-0042-edc', 'tillbus.edc.bridge.pos-0042-edc.events'],
    ['heartbeat', 'store-0042-pos-1', 'tillbus.edc.bridge.heartbeat.store-0042-pos-1'],
  ] as const)('%s for %s is %s, and reads back', (kind, id, subject) => {
    expect(kiccBridgeSubject(kind, id)).toBe(subject);
    expect(readKiccBridgeSubject(subject)).toEqual({ kind, id });
  });

  it.each([
    ['command', ''],
    ['command', 'a.b'],
    ['command', '*'],
    ['events', '>'],
    ['events', 'a b'],
    ['command', 'x'.repeat(65)],
    ['command', 'heartbeat'],
    ['events', 'heartbeat'],
    ['heartbeat', 'events'],
    ['heartbeat', 'command'],
  ] as const)('refuses %s id %j', (kind, id) => {
    expect(errorOf(() => kiccBridgeSubject(kind, id)).code).toBe('INVALID_SUBJECT_TOKEN');
  });

  it.each([
    'tillbus.edc.bridge.a.other',
    'tillbus.edc.bridge.heartbeat.events',
    'tillbus.edc.bridge.heartbeat.command',
    'tillbus.edc.bridge.a',
    'tillbus.edc.bridge.a.b.command',
    '_INBOX.abc',
  ])('does not read %s as a bridge subject', (subject) => {
    expect(readKiccBridgeSubject(subject)).toBeNull();
  });

  it('documents one wildcard per family', () => {
    expect(KICC_BRIDGE_SUBJECT_WILDCARDS).toEqual({
      command: 'tillbus.edc.bridge.*.command',
      events: 'tillbus.edc.bridge.*.events',
      heartbeat: 'tillbus.edc.bridge.heartbeat.*',
    });
  });
});

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
    ['v 2', { v: 2 }, 'UNSUPPORTED_VERSION'],
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

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((s) => s !== 'heartbeat');
const requestId = fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/);
const epoch = fc.integer({ min: 0, max: 4_102_444_800_000 });
const seq = fc.integer({ min: 1, max: 2 ** 31 });
const text = fc.string({ maxLength: 40 }).filter((s) => !/\d/.test(s));
const digits = fc.integer({ min: 0, max: 10_000_000 }).map(String);
const amount = fc.record({ value: digits, currency: fc.constantFrom('KRW', 'USD') });

const purchaseParams = (rid: string) =>
  fc.record(
    {
      requestId: fc.constant(rid),
      paymentAmount: amount,
      taxAmount: amount,
      tipAmount: amount,
      creditPayPlan: fc.record({ installmentNum: fc.integer({ min: 0, max: 36 }).map(String) }),
      paymentExpiryTime: fc.integer({ min: 1, max: 600 }).map(String),
      acquirerInfo: fc.record({
        acquirerTerminalId: fc.string({ minLength: 1, maxLength: 12 }),
        acquirerRegistrationNo: fc.string({ minLength: 1, maxLength: 12 }),
      }),
    },
    { requiredKeys: ['requestId', 'paymentAmount', 'tipAmount', 'creditPayPlan', 'acquirerInfo'] },
  );

const head = { v: fc.constant(1 as const), deviceId: id, requestId, sentAt: epoch };

const command: fc.Arbitrary<BridgeMessage> = requestId.chain((rid) =>
  fc.oneof(
    fc.record({
      ...head,
      requestId: fc.constant(rid),
      type: fc.constant('command' as const),
      commandName: fc.constant('Purchase' as const),
      body: fc.record({ commandRequestParams: purchaseParams(rid), notAfter: epoch }),
    }),
    fc.record({
      ...head,
      type: fc.constant('command' as const),
      commandName: fc.constant('CommandCancel' as const),
      body: fc.record({
        commandRequestParams: fc.constant({}),
        notAfter: epoch,
        targetRequestId: requestId,
      }),
    }),
    fc.record({
      ...head,
      type: fc.constant('command' as const),
      commandName: fc.constant('GetLastTransaction' as const),
      body: fc.record(
        { commandRequestParams: fc.constant({}), notAfter: epoch, recoveryOf: requestId },
        { requiredKeys: ['commandRequestParams', 'notAfter'] },
      ),
    }),
  ),
) as fc.Arbitrary<BridgeMessage>;

const commandName = fc.constantFrom(
  'Purchase',
  'PurchaseCancel',
  'GetLastTransaction',
  'CommandCancel' as const,
);

const ack = fc.record({
  ...head,
  type: fc.constant('ack' as const),
  commandName,
  body: fc.record(
    {
      status: fc.constantFrom(...(Object.keys(BRIDGE_ACK_STATUSES) as BridgeAckStatus[])),
      runningRequestId: requestId,
      detail: text,
    },
    { requiredKeys: ['status'] },
  ),
}) as fc.Arbitrary<BridgeMessage>;

const event = fc.record({
  ...head,
  type: fc.constant('event' as const),
  commandName,
  seq,
  body: fc.record(
    { code: fc.constantFrom(...KICC_EVENT_CODE_LIST), message: text },
    { requiredKeys: ['code'] },
  ),
}) as fc.Arbitrary<BridgeMessage>;

const result = fc.record({
  ...head,
  type: fc.constant('result' as const),
  commandName,
  seq,
  body: fc.oneof(
    fc.record({
      callback: fc.constant('onSuccess' as const),
      responseData: fc.constantFrom(purchaseResponse(), {}),
    }),
    fc.record(
      {
        callback: fc.constantFrom('onCommandFailed' as const, 'onBusinessFailed' as const),
        failure: fc.record(
          { code: fc.string({ maxLength: 64 }).filter((s) => !/\d/.test(s)), message: text },
          { requiredKeys: ['code'] },
        ),
        responseData: fc.constant(businessFailure()),
      },
      { requiredKeys: ['callback', 'failure'] },
    ),
  ),
}) as fc.Arbitrary<BridgeMessage>;

const heartbeat = fc.record({
  v: fc.constant(1 as const),
  type: fc.constant('heartbeat' as const),
  bridgeId: id.filter((s) => s !== 'events' && s !== 'command'),
  seq,
  sentAt: epoch,
  body: fc.record({
    startedAt: epoch,
    intervalMs: fc.integer({ min: 1000, max: 60_000 }),
    appVersion: fc.string({ maxLength: 32 }),
    sdk: fc.record({
      instoreCore: fc.string({ maxLength: 32 }),
      instoreEdcCmd: fc.string({ maxLength: 32 }),
    }),
    protocolVersions: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
    devices: fc.array(
      fc.record(
        {
          deviceId: id,
          provider: fc.constant('KICC' as const),
          init: fc.record(
            { code: fc.constantFrom(...KICC_INIT_CODE_LIST), message: text },
            { requiredKeys: ['code'] },
          ),
          runningRequestId: requestId,
        },
        { requiredKeys: ['deviceId', 'provider'] },
      ),
      { maxLength: 5 },
    ),
  }),
}) as fc.Arbitrary<BridgeMessage>;

const anyMessage = fc.oneof(command, ack, event, result, heartbeat);

describe('codec properties', () => {
  it('parse(encode(x)) equals x for every message type', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const encoded = encodeBridgeMessage(message);
        const parsed = parseBridgeMessage(encoded);
        expect(parsed).toEqual(message);
        expect(encodeBridgeMessage(parsed)).toBe(encoded);
        expect(parseBridgeMessage(Buffer.from(encoded))).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['bytes', fc.uint8Array({ maxLength: 512 })],
    ['strings', fc.string({ maxLength: 512 })],
    ['JSON text', fc.json()],
    ['anything', fc.anything()],
    [
      'an envelope with junk in one field',
      fc
        .tuple(
          anyMessage,
          fc.constantFrom(
            'v',
            'type',
            'deviceId',
            'requestId',
            'commandName',
            'seq',
            'sentAt',
            'body',
            'bridgeId',
          ),
          fc.anything(),
        )
        .map(([message, key, junk]) => JSON.stringify({ ...message, [key]: junk })),
    ],
    [
      'a body with junk in one field',
      fc
        .tuple(anyMessage, fc.string({ maxLength: 20 }), fc.anything())
        .map(([message, key, junk]) =>
          JSON.stringify({ ...message, body: { ...message.body, [key]: junk } }),
        ),
    ],
  ])('parseBridgeMessage returns or throws KiccProtocolError for %s', (_label, arbitrary) => {
    fc.assert(
      fc.property(arbitrary as fc.Arbitrary<unknown>, (input) => {
        try {
          parseBridgeMessage(input);
        } catch (error) {
          expect(error).toBeInstanceOf(KiccProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('encodeBridgeMessage returns or throws KiccProtocolError for anything', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          encodeBridgeMessage(input as BridgeMessage);
        } catch (error) {
          expect(error).toBeInstanceOf(KiccProtocolError);
        }
      }),
    );
  });
});

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

describe('stream', () => {
  it('names the stream and a Nats-Msg-Id that is the same on every retry of one message', () => {
    expect(KICC_BRIDGE_STREAM).toBe('TILLBUS_EDC_BRIDGE');
    expect(bridgeMessageId('dev-1', '123456XXXX', 5)).toBe('dev-1:123456XXXX:5');
    expect(bridgeMessageId('d', 'a:b', 1)).not.toBe(bridgeMessageId('d', 'a', 1));
  });

  it('names the device in message ids and dedupe keys: one requestId on two devices never collides', () => {
    const deviceId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    const requestId = fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/);
    const seq = fc.integer({ min: 1, max: 1_000_000 });
    fc.assert(
      fc.property(deviceId, requestId, seq, deviceId, requestId, seq, (d1, r1, s1, d2, r2, s2) => {
        const same = d1 === d2 && r1 === r2;
        expect(bridgeDedupeKey(d1, r1) === bridgeDedupeKey(d2, r2)).toBe(same);
        expect(bridgeMessageId(d1, r1, s1) === bridgeMessageId(d2, r2, s2)).toBe(same && s1 === s2);
      }),
    );
    expect(bridgeMessageId('dev-a', 'pay-1', 1)).not.toBe(bridgeMessageId('dev-b', 'pay-1', 1));
    expect(bridgeDedupeKey('dev-a', 'pay-1')).not.toBe(bridgeDedupeKey('dev-b', 'pay-1'));
  });
});
