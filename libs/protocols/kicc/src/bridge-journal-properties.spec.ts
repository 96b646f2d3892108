import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBridgeMessage, parseBridgeMessage, readBridgeMessage } from './bridge-codec';
import type { BridgeMessage } from './bridge-schemas';
import { JOURNAL_STATE_LIST } from './bridge-vocabulary';
import { KiccProtocolError } from './errors';
import { businessFailure, purchaseResponse } from './test/fixtures';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const requestId = fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/);
const epoch = fc.integer({ min: 0, max: 4_102_444_800_000 });
const commandName = fc.constantFrom('Purchase' as const, 'PurchaseCancel' as const);

const query = fc.record({
  v: fc.constant(2 as const),
  type: fc.constant('journal_query' as const),
  deviceId: id,
  requestId,
  commandName,
  sentAt: epoch,
  body: fc.record({ close: fc.boolean() }),
}) as fc.Arbitrary<BridgeMessage>;

const storedResult = (deviceId: string, rid: string, name: string) =>
  fc.record({
    v: fc.constantFrom(1 as const, 2 as const),
    type: fc.constant('result' as const),
    deviceId: fc.constant(deviceId),
    requestId: fc.constant(rid),
    commandName: fc.constant(name),
    seq: fc.integer({ min: 1, max: 2 ** 31 }),
    sentAt: epoch,
    body: fc.oneof(
      fc.record({
        callback: fc.constant('onSuccess' as const),
        responseData: fc.constant(purchaseResponse()),
      }),
      fc.record({
        callback: fc.constant('onBusinessFailed' as const),
        failure: fc.record({ code: fc.constantFrom('PROCESS_FAIL', 'UNKNOWN') }),
        responseData: fc.constant(businessFailure()),
      }),
    ),
  });

const journal = fc
  .tuple(id, requestId, commandName, fc.constantFrom(...JOURNAL_STATE_LIST))
  .chain(([deviceId, rid, name, state]) =>
    fc.record({
      v: fc.constant(2 as const),
      type: fc.constant('journal' as const),
      deviceId: fc.constant(deviceId),
      requestId: fc.constant(rid),
      commandName: fc.constant(name),
      sentAt: epoch,
      body:
        state === 'finished'
          ? fc.record({
              state: fc.constant(state),
              journalSince: epoch,
              result: storedResult(deviceId, rid, name),
            })
          : fc.record({ state: fc.constant(state), journalSince: epoch }),
    }),
  ) as fc.Arbitrary<BridgeMessage>;

const anyJournalMessage = fc.oneof(query, journal);
/** A lower-case word no version knows, as a newer bridge might send. */
const newWord = fc
  .stringMatching(/^[a-z]{3,12}$/)
  .filter((s) => !(JOURNAL_STATE_LIST as string[]).includes(s));

describe('journal codec properties', () => {
  it('parse(encode(x)) equals x for the query and every answer', () => {
    fc.assert(
      fc.property(anyJournalMessage, (message) => {
        const encoded = encodeBridgeMessage(message);
        expect(parseBridgeMessage(encoded)).toEqual(message);
        expect(encodeBridgeMessage(parseBridgeMessage(encoded))).toBe(encoded);
      }),
      { numRuns: 300 },
    );
  });

  it('an answer with an unknown field and an unknown state is still read, and both are named', () => {
    fc.assert(
      fc.property(journal, newWord, newWord, (message, field, state) => {
        const body = { ...(message.body as object), state, [`x${field}`]: field };
        delete (body as { result?: unknown }).result;
        const read = readBridgeMessage(JSON.stringify({ ...message, body }));
        expect(read.message.body).toEqual(body);
        expect(read.unknownFields).toEqual([`body.x${field}`]);
        expect(read.unrecognised).toEqual([{ field: 'body.state', value: state }]);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['a query with junk in one field', query, ['v', 'type', 'deviceId', 'requestId', 'body']],
    ['an answer with junk in one field', journal, ['v', 'type', 'requestId', 'sentAt', 'body']],
  ])('parseBridgeMessage returns or throws KiccProtocolError for %s', (_label, base, keys) => {
    const input = fc
      .tuple(base, fc.constantFrom(...keys), fc.anything())
      .map(([message, key, junk]) => JSON.stringify({ ...message, [key]: junk }));
    const inBody = fc
      .tuple(base, fc.string({ maxLength: 20 }), fc.anything())
      .map(([message, key, junk]) =>
        JSON.stringify({ ...message, body: { ...(message.body as object), [key]: junk } }),
      );
    fc.assert(
      fc.property(fc.oneof(input, inBody), (text) => {
        try {
          parseBridgeMessage(text);
        } catch (error) {
          expect(error).toBeInstanceOf(KiccProtocolError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
