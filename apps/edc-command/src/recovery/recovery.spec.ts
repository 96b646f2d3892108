import { ManualClock } from '@tillbus/messaging';
import { edcTransition } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { stepCommand } from '../record/command-step';
import type { StoredCommand } from '../record/model';
import type { CommandInput } from '../record/step';
import { ctx, purchaseRecord, responseData, result, T0 } from '../record/test/step-fixtures';
import { JournalCheck } from './journal-check';
import { JournalLink } from '../vendor/journal-link';
import { Recovery } from './recovery';

/** A Purchase accepted at T0 whose deadline passed: its result is unknown. */
function timedOut(): StoredCommand {
  const record = purchaseRecord();
  const lifecycle = edcTransition(record.lifecycle, { type: 'deadline_passed', at: T0 + 95_000 });
  return { ...record, lifecycle: lifecycle.state, recovery: undefined };
}

type Reply = Record<string, unknown> | 'timeout' | 'no_responders';

/**
 * Recovery and its JournalCheck over fakes: a NATS connection that answers the journal subject with `reply`, a
 * bridge that speaks `versions`, and a writer that runs the real step on one record.
 */
function harness(versions: number[], reply: Reply) {
  const clock = new ManualClock(T0 + 100_000);
  let record = timedOut();
  const applied: CommandInput['type'][] = [];
  const asked: { subject: string; data: Record<string, unknown> }[] = [];
  const sentRecoveries: string[] = [];
  const writer = {
    apply: async (_key: string, input: CommandInput) => {
      applied.push(input.type);
      const step = stepCommand(record, input, ctx(clock.now()));
      record = step.record;
      return { record, changed: step.changed, notes: step.notes };
    },
  };
  const nc = {
    request: async (subject: string, data: string) => {
      asked.push({ subject, data: JSON.parse(data) as Record<string, unknown> });
      if (reply === 'timeout') throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
      if (reply === 'no_responders') throw new Error('503');
      return { data: new TextEncoder().encode(JSON.stringify(reply)), subject: '_INBOX.x' };
    },
  };
  const presence = {
    device: () => ({ state: 'online', bridgeId: 'b1', init: 'INIT_SUCCESS' }),
    speaks: (_deviceId: string, version: number) => versions.includes(version),
  };
  const config = {
    REPLICA_ID: 'r1',
    EDC_ACK_TIMEOUT_MS: 1_000,
    EDC_DISPATCH_WINDOW_MS: 5_000,
    EDC_RECOVERY_OFFLINE_WAIT_MS: 60_000,
  };
  const metrics = { bridgeUnrecognised: { inc: () => undefined } };
  const journal = new JournalCheck(
    new JournalLink({ connection: nc, inboxPrefix: '_INBOX_edc' } as never, clock),
    config as never,
    writer as never,
    presence as never,
    metrics as never,
    { event: () => undefined } as never,
  );
  const records = { create: async () => ({ created: true }) };
  const dispatch = {
    sendRecovery: async (_key: string, _deviceId: string, _requestId: string, gltId: string) => {
      sentRecoveries.push(gltId);
    },
  };
  const recovery = new Recovery(
    config as never,
    clock,
    records as never,
    writer as never,
    dispatch as never,
    presence as never,
    journal,
  );
  return {
    recover: () => recovery.recover('k', record),
    get record() {
      return record;
    },
    applied,
    asked,
    sentRecoveries,
  };
}

const answer = (body: Record<string, unknown>) => ({
  v: 2,
  type: 'journal',
  deviceId: 'edc-1',
  requestId: 'req-1',
  commandName: 'Purchase',
  sentAt: T0 + 100_000,
  body,
});

const paid = result(5, { callback: 'onSuccess', responseData: responseData('req-1') });

describe('Recovery of a payment whose result is unknown', () => {
  it('asks a v1 bridge nothing new: GetLastTransaction, as before', async () => {
    const h = harness([1], answer({ state: 'not_received', journalSince: 0 }));
    await h.recover();
    expect(h.asked).toEqual([]);
    expect(h.applied).toEqual(['recovery_started']);
    expect(h.sentRecoveries).toHaveLength(1);
    expect(h.record.lifecycle.phase).toBe('recovering');
  });

  it('asks a v2 bridge journal first, closing the requestId, and fails a command it never received', async () => {
    const h = harness([1, 2], answer({ state: 'not_received', journalSince: T0 - 1 }));
    await h.recover();
    expect(h.asked).toEqual([
      {
        subject: 'tillbus.edc.bridge.edc-1.journal',
        data: expect.objectContaining({
          v: 2,
          type: 'journal_query',
          requestId: 'req-1',
          body: { close: true },
        }),
      },
    ]);
    expect(h.sentRecoveries).toEqual([]);
    expect(h.record.lifecycle).toMatchObject({
      phase: 'failed',
      resolution: 'recovery',
      failure: { type: 'bridge', code: 'NOT_RECEIVED' },
      recoveryAttempts: 0,
    });
    expect(h.record.outbox.map((e) => [e.type, e.status ?? e.outcome])).toEqual([
      ['recovery', 'answered'],
      ['outcome', 'FAILED'],
    ]);
  });

  it.each<[string, Reply, string]>([
    ['executing', answer({ state: 'executing', journalSince: 0 }), 'recovering'],
    ['received', answer({ state: 'received', journalSince: 0 }), 'recovering'],
    [
      'a state this version does not know',
      answer({ state: 'archived', journalSince: 0 }),
      'recovering',
    ],
    [
      'not_received from a journal younger than the command',
      answer({ state: 'not_received', journalSince: T0 + 1 }),
      'recovering',
    ],
    ['no answer in time', 'timeout', 'recovering'],
    ['no journal on the bus', 'no_responders', 'recovering'],
    ['an unreadable answer', { v: 2, type: 'journal' }, 'recovering'],
    [
      'the answer of another command',
      { ...answer({ state: 'not_received', journalSince: 0 }), requestId: 'other' },
      'recovering',
    ],
    [
      'a stored result it already applied',
      answer({
        state: 'finished',
        journalSince: 0,
        result: {
          ...paid,
          body: { callback: 'onCommandFailed', failure: { code: 'CommandResponseTimeout' } },
        },
      }),
      'recovering',
    ],
  ])('falls back to GetLastTransaction on %s', async (_label, reply, phase) => {
    const h = harness([1, 2], reply);
    await h.recover();
    expect(h.asked).toHaveLength(1);
    expect(h.sentRecoveries).toHaveLength(1);
    expect(h.record.lifecycle.phase).toBe(phase);
  });

  it('applies a finished command stored result as the device result, and asks the device nothing', async () => {
    const h = harness([1, 2], answer({ state: 'finished', journalSince: 0, result: paid }));
    await h.recover();
    expect(h.applied).toEqual(['bridge']);
    expect(h.sentRecoveries).toEqual([]);
    expect(h.record.lifecycle).toMatchObject({ phase: 'succeeded', resolution: 'late_device' });
    expect(h.record.result).toMatchObject({ requestId: 'req-1' });
  });
});
