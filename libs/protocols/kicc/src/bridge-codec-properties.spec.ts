import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KICC_EVENT_CODE_LIST, KICC_INIT_CODE_LIST } from '@tillbus/result-codes';
import { encodeBridgeMessage, parseBridgeMessage } from './bridge-codec';
import type { BridgeMessage } from './bridge-schemas';
import { BRIDGE_ACK_STATUSES, type BridgeAckStatus } from './bridge-vocabulary';
import { KiccProtocolError } from './errors';
import { businessFailure, purchaseResponse } from './test/fixtures';

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
