import { edcTransition, type EdcEvent } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { stepCommand } from './command-step';
import type { StoredCommand } from './model';
import { ctx, purchaseRecord, T0 } from './test/step-fixtures';

function after(record: StoredCommand, ...events: EdcEvent[]): StoredCommand {
  let lifecycle = record.lifecycle;
  for (const event of events) lifecycle = edcTransition(lifecycle, event).state;
  return { ...record, lifecycle };
}

const timedOut = () => after(purchaseRecord(), { type: 'deadline_passed', at: T0 + 95_000 });
const AT = T0 + 100_000;

describe('stepCommand: a v2 bridge journal that never received the command', () => {
  it.each([
    ['a journal older than the command', T0 - 1],
    ['a journal started the moment the command was accepted', T0],
  ])('fails a timed-out payment NOT_RECEIVED with %s', (_label, journalSince) => {
    const step = stepCommand(timedOut(), { type: 'journal_not_received', journalSince }, ctx(AT));
    expect(step.changed).toBe(true);
    expect(step.record.lifecycle).toMatchObject({
      phase: 'failed',
      failure: { type: 'bridge', code: 'NOT_RECEIVED' },
      resolution: 'recovery',
      finishedAt: AT,
    });
    expect(step.record.recovery?.reason).toContain('never received');
    expect(step.notes).toContainEqual(
      expect.objectContaining({ kind: 'recovery', result: 'failed' }),
    );
    expect(step.record.outbox.map((e) => e.type)).toEqual(['recovery', 'outcome']);
    expect(step.record.outbox[1]).toMatchObject({
      outcome: 'FAILED',
      final: true,
      failure: { type: 'bridge', code: 'NOT_RECEIVED' },
    });
  });

  it.each<[string, () => StoredCommand, number, string]>([
    ['a journal younger than the command', timedOut, T0 + 1, 'stale'],
    [
      'a command being recovered with GetLastTransaction',
      () => after(timedOut(), { type: 'recovery_started', at: T0 + 96_000 }),
      T0,
      'stale',
    ],
    [
      'a command the device already answered',
      () => after(purchaseRecord(), { type: 'onSuccess', resultCode: 'SUCCESS', at: T0 + 5_000 }),
      T0,
      'stale',
    ],
    ['a command still in flight', purchaseRecord, T0, 'stale'],
  ])('changes nothing for %s', (_label, record, journalSince, note) => {
    const before = record();
    const step = stepCommand(before, { type: 'journal_not_received', journalSince }, ctx(AT));
    expect(step.record.lifecycle).toEqual(before.lifecycle);
    expect(step.record.outbox).toEqual(before.outbox);
    expect(step.record.anomalies).toEqual(before.anomalies);
    expect(step.changed).toBe(false);
    expect(step.notes.map((n) => n.kind)).toContain(note);
  });
});
