import { describe, expect, it } from 'vitest';
import {
  EDC_BEFORE_CARD_READ_PHASES,
  EDC_IN_FLIGHT_PHASES,
  EDC_PHASE_LIST,
  EDC_TRANSITIONS,
  edcCardCountdownDue,
  edcDeadlineDue,
  edcTransition,
  isEdcInFlight,
  isEdcSettled,
  newEdcCommand,
  type EdcCommandRecord,
  type EdcEvent,
  type EdcRecordCommand,
} from './edc-lifecycle';

const T0 = 1_700_000_000_000;

function run(commandName: EdcRecordCommand, events: EdcEvent[]): EdcCommandRecord {
  let record = newEdcCommand({ commandName, now: T0 });
  for (const event of events) {
    const result = edcTransition(record, event);
    if (!result.ok) throw new Error(`fixture step refused: ${result.reason}`);
    record = result.state;
  }
  return record;
}

const sent: EdcEvent = { type: 'dispatched', at: T0 };
const ready: EdcEvent = { type: 'device_event', code: 'READY', at: T0 + 10 };

describe('EDC phase sets', () => {
  it('in flight: sent and every device phase; before the card read: the three a CommandCancel may stop', () => {
    expect([...EDC_IN_FLIGHT_PHASES]).toEqual([
      'sent',
      'READY',
      'CARD_DETECTED',
      'CARD_READ_COMPLETED',
      'PENDING_SIGNATURE',
      'START_TRANSACTION',
    ]);
    expect([...EDC_BEFORE_CARD_READ_PHASES]).toEqual(['sent', 'READY', 'CARD_DETECTED']);
    for (const phase of EDC_BEFORE_CARD_READ_PHASES) expect(isEdcInFlight(phase)).toBe(true);
    expect(isEdcInFlight('timed_out')).toBe(false);
  });

  it('CommandCancel is allowed exactly before the card read (and before sending)', () => {
    const allowed = EDC_PHASE_LIST.filter((phase) => EDC_TRANSITIONS.cancel_requested[phase]);
    expect(allowed).toEqual(['accepted', ...EDC_BEFORE_CARD_READ_PHASES]);
  });
});

describe('isEdcSettled', () => {
  it('final phases and in_doubt are settled; a timed-out payment is not, a timed-out query is', () => {
    expect(isEdcSettled(run('Purchase', [sent]))).toBe(false);
    const late = T0 + 1_000_000;
    expect(isEdcSettled(run('Purchase', [sent, { type: 'deadline_passed', at: late }]))).toBe(
      false,
    );
    expect(
      isEdcSettled(run('GetLastTransaction', [sent, { type: 'deadline_passed', at: late }])),
    ).toBe(true);
    expect(
      isEdcSettled(run('Purchase', [sent, { type: 'bridge_refused', code: 'busy', at: T0 }])),
    ).toBe(true);
  });
});

describe('timers', () => {
  it('the deadline is due while the table lets it pass, and never once the record is over', () => {
    const inFlight = run('Purchase', [sent]);
    expect(edcDeadlineDue(inFlight)).toBe(inFlight.deadlineAt);
    expect(edcDeadlineDue(run('Purchase', []))).toBeNull();
    const timedOut = run('Purchase', [sent, { type: 'deadline_passed', at: T0 + 1_000_000 }]);
    expect(edcDeadlineDue(timedOut)).toBeNull();
    const recovering = run('Purchase', [
      sent,
      { type: 'deadline_passed', at: T0 + 1_000_000 },
      { type: 'recovery_started', at: T0 + 1_000_001 },
    ]);
    expect(edcDeadlineDue(recovering)).toBe(recovering.deadlineAt);
  });

  it('the card countdown is due after READY until a cancel is requested or the card is detected and read', () => {
    const waiting = run('Purchase', [sent, ready]);
    expect(edcCardCountdownDue(waiting)).toBe(waiting.countdownEndsAt);
    expect(edcCardCountdownDue(run('Purchase', [sent]))).toBeNull();
    expect(
      edcCardCountdownDue(run('Purchase', [sent, ready, { type: 'cancel_requested', at: T0 }])),
    ).toBeNull();
    expect(
      edcCardCountdownDue(
        run('Purchase', [
          sent,
          ready,
          { type: 'device_event', code: 'CARD_READ_COMPLETED', at: T0 },
        ]),
      ),
    ).toBeNull();
  });
});
