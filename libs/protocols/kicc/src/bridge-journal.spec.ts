import { describe, expect, it } from 'vitest';
import { encodeBridgeMessage, parseBridgeMessage, readBridgeMessage } from './bridge-codec';
import type { BridgeMessage } from './bridge-schemas';
import { EXAMPLES } from './test/bridge-examples';
import { ACQUIRER_META_DATA, errorOf } from './test/fixtures';

const clone = <T>(value: T): T => structuredClone(value) as T;
const JOURNAL_SUBJECT = 'tillbus.edc.bridge.pos-0042-edc.journal';

function finished(result: object = clone(EXAMPLES.result)) {
  return {
    ...clone(EXAMPLES.journal),
    body: { state: 'finished', journalSince: 1, result },
  };
}

describe('v2: the journal query and its answer', () => {
  it.each([
    ['not_received', { state: 'not_received', journalSince: 0 }],
    ['received', { state: 'received', journalSince: 0 }],
    ['executing', { state: 'executing', journalSince: 0 }],
  ])('reads a journal answer %s', (_label, body) => {
    const message = { ...clone(EXAMPLES.journal), body };
    expect(parseBridgeMessage(JSON.stringify(message))).toEqual(message);
  });

  it('reads a finished answer, with the stored result and its acquirerMetaData', () => {
    const message = finished();
    expect(parseBridgeMessage(JSON.stringify(message))).toEqual(message);
    expect(JSON.parse(encodeBridgeMessage(message as BridgeMessage))).toEqual(message);
  });

  it('reads the query on the journal subject and the answer on an inbox', () => {
    expect(
      parseBridgeMessage(JSON.stringify(EXAMPLES.journal_query), { subject: JOURNAL_SUBJECT }),
    ).toEqual(EXAMPLES.journal_query);
    expect(parseBridgeMessage(JSON.stringify(EXAMPLES.journal), { subject: '_INBOX.x.y' })).toEqual(
      EXAMPLES.journal,
    );
    const onCommand = 'tillbus.edc.bridge.pos-0042-edc.command';
    expect(
      errorOf(() =>
        parseBridgeMessage(JSON.stringify(EXAMPLES.journal_query), { subject: onCommand }),
      ).code,
    ).toBe('INVALID_MESSAGE');
  });

  it('keeps fields it does not know in an answer, and reports a state it does not know', () => {
    const message = {
      ...clone(EXAMPLES.journal),
      body: { state: 'archived', journalSince: 5, shelf: 'B' },
      extra: 1,
    };
    const read = readBridgeMessage(JSON.stringify(message));
    expect(read.message).toEqual(message);
    expect([...read.unknownFields].sort()).toEqual(['body.shelf', 'extra']);
    expect(read.unrecognised).toEqual([{ field: 'body.state', value: 'archived' }]);
  });

  it('reads the v1 types written as v2, and the v2 types only as v2', () => {
    for (const type of ['command', 'ack', 'event', 'result', 'heartbeat'] as const) {
      const message = { ...clone(EXAMPLES[type]), v: 2 };
      expect(parseBridgeMessage(JSON.stringify(message))).toEqual(message);
    }
    for (const type of ['journal_query', 'journal'] as const) {
      const message = { ...clone(EXAMPLES[type]), v: 1 };
      expect(errorOf(() => parseBridgeMessage(JSON.stringify(message))).message).toBe(
        `a ${type} message is v2`,
      );
    }
  });

  it('drops fields a query does not declare (commands and queries are ours: read strictly)', () => {
    const message = { ...clone(EXAMPLES.journal_query), body: { close: true, peek: 1 } };
    const read = readBridgeMessage(JSON.stringify(message));
    expect(read.message).toEqual(EXAMPLES.journal_query);
    expect(read.unknownFields).toEqual([]);
  });

  it.each([
    ['a query without close', { body: {} }, 'INVALID_MESSAGE'],
    ['a query with close as text', { body: { close: 'yes' } }, 'INVALID_MESSAGE'],
    ['a query for a requestId with a dot', { requestId: 'a.b' }, 'INVALID_MESSAGE'],
    ['a query with v 3', { v: 3 }, 'UNSUPPORTED_VERSION'],
    [
      'a query carrying card data',
      { body: { close: true, pan: '5236497912345678' } },
      'CARD_DATA_REFUSED',
    ],
  ])('refuses %s (a query is read strictly)', (_label, change, code) => {
    const message = { ...clone(EXAMPLES.journal_query), ...change };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(message))).code).toBe(code);
  });

  it.each([
    [
      'finished without a result',
      { body: { state: 'finished', journalSince: 1 } },
      'body.result is required with state finished and only with it',
    ],
    [
      'a result with not_received',
      { body: { state: 'not_received', journalSince: 1, result: clone(EXAMPLES.result) } },
      'body.result is required with state finished and only with it',
    ],
    [
      'the result of another requestId',
      finished({ ...clone(EXAMPLES.result), requestId: 'other' }),
      'body.result must be the result of the deviceId and requestId asked about',
    ],
    [
      'an event for a result',
      finished(clone(EXAMPLES.event)),
      'body.result.type: type must be equal to result',
    ],
    [
      'a stored onSuccess without responseData',
      finished({ ...clone(EXAMPLES.result), body: { callback: 'onSuccess' } }),
      'onSuccess carries responseData and no failure',
    ],
  ])('refuses a journal answer with %s', (_label, change, message) => {
    const journal = { ...clone(EXAMPLES.journal), ...change };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(journal))).message).toContain(message);
  });

  it.each([
    ['no journalSince', { state: 'executing' }, 'INVALID_MESSAGE'],
    ['a negative journalSince', { state: 'executing', journalSince: -1 }, 'INVALID_MESSAGE'],
    ['a state that is a number', { state: 3, journalSince: 1 }, 'INVALID_MESSAGE'],
    [
      'acquirerMetaData outside the result',
      { state: 'executing', journalSince: 1, acquirerMetaData: ACQUIRER_META_DATA },
      'CARD_DATA_REFUSED',
    ],
    [
      'a card number beside the result',
      { state: 'executing', journalSince: 1, cardNumber: '5236497912345678' },
      'CARD_DATA_REFUSED',
    ],
  ])('refuses a journal answer with %s', (_label, body, code) => {
    const journal = { ...clone(EXAMPLES.journal), body };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(journal))).code).toBe(code);
  });

  it('refuses card data in the stored result beyond what a result may carry', () => {
    const result = clone(EXAMPLES.result) as unknown as { body: Record<string, unknown> };
    result.body = { ...result.body, pan: '5236497912345678' };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(finished(result)))).code).toBe(
      'CARD_DATA_REFUSED',
    );
  });

  it('reads lastSentRequestId next to GetLastTransaction data, and refuses a malformed one', () => {
    const result = {
      ...clone(EXAMPLES.result),
      commandName: 'GetLastTransaction',
      body: { ...clone(EXAMPLES.result).body, lastSentRequestId: 'pay-7' },
    };
    expect(parseBridgeMessage(JSON.stringify(result))).toEqual(result);
    const bad = { ...result, body: { ...result.body, lastSentRequestId: 'a b' } };
    expect(errorOf(() => parseBridgeMessage(JSON.stringify(bad))).code).toBe('INVALID_MESSAGE');
  });

  it('does not write an answer with fields it does not declare', () => {
    const message = { ...clone(EXAMPLES.journal), body: { ...EXAMPLES.journal.body, x: 1 } };
    expect(errorOf(() => encodeBridgeMessage(message as unknown as BridgeMessage)).code).toBe(
      'INVALID_MESSAGE',
    );
  });
});
