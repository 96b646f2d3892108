import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  bridgeDedupeKey,
  bridgeMessageId,
  kiccBridgeSubject,
  readKiccBridgeSubject,
} from './bridge-subjects';
import { errorOf } from './test/fixtures';

describe('subjects', () => {
  it.each([
    ['command', 'pos-0042-edc', 'tillbus.edc.bridge.pos-0042-edc.command'],
    ['events', 'pos-0042-edc', 'tillbus.edc.bridge.pos-0042-edc.events'],
    ['heartbeat', 'store-0042-pos-1', 'tillbus.edc.bridge.heartbeat.store-0042-pos-1'],
    ['journal', 'pos-0042-edc', 'tillbus.edc.bridge.pos-0042-edc.journal'],
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
    ['heartbeat', 'journal'],
    ['journal', 'heartbeat'],
  ] as const)('refuses %s id %j', (kind, id) => {
    expect(errorOf(() => kiccBridgeSubject(kind, id)).code).toBe('INVALID_SUBJECT_TOKEN');
  });

  it.each([
    'tillbus.edc.bridge.a.other',
    'tillbus.edc.bridge.heartbeat.events',
    'tillbus.edc.bridge.heartbeat.command',
    'tillbus.edc.bridge.heartbeat.journal',
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
      journal: 'tillbus.edc.bridge.*.journal',
    });
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
