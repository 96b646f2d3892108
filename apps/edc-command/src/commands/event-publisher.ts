import type { OnApplicationShutdown } from '@nestjs/common';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { type EdcPublicEvent, EVENT_SUBJECTS, STREAMS } from '@tillbus/contracts';
import { JetStreamOutbox, OUTBOX_UNTIL_ACKED, type OutboxFailure } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EdcMetrics } from '../metrics';
import { publishedThroughOf, type WithEvents } from '../record/model';

/** A record whose events this publisher sends. */
export type WithPublicEvents = WithEvents & { deviceId: string; requestId: string };

/** What this replica knows of one command's events in the stream. */
interface Mark {
  /** Handed to the outbox up to this seq (they go out in order, retried until acked). */
  queued: number;
  /** The stream holds every event up to this seq. */
  acked: number;
  /** The last send to the outbox: true once acked (and so is everything before it). */
  last?: Promise<boolean>;
}

const MAX_MARKS = 20_000;

/**
 * Publishes the public events of a command on JetStream so that every one reaches the stream, once and in `seq`
 * order, with `Nats-Msg-Id <deviceId>:<requestId>:<seq>`.
 *
 * - The durable copy is the record's `outbox` (model.ts): it keeps every event not yet known to be in the stream.
 *   This replica remembers how far the stream acked each command (`Mark`); the record's next write drops what was
 *   acked (RecordStore.trimEventsWith), so the hot path never pays a KV write per event.
 * - The outbox retries each event until the stream acks it (OUTBOX_UNTIL_ACKED: the pause grows to 2 s and stays),
 *   never giving up while this replica lives; the events of one command go one after the other, so a later seq is
 *   never stored before an earlier one.
 * - Events this replica did not write itself (a take-over, a restart, a record another replica wrote last) may be
 *   in the stream already, perhaps for longer than its duplicate window: the last event stored on the command's
 *   subject says how far, and only what follows it is sent. The events this replica writes are sent without that
 *   look-up; a re-send of one whose ack was lost follows its stored copy by at most 2 s plus a publish timeout, well
 *   inside TILLBUS_EDC's 2-minute duplicate window (libs/messaging declarations).
 */
export class EventPublisher implements OnApplicationShutdown {
  private readonly outbox: JetStreamOutbox;
  private readonly marks = new Map<string, Mark>();
  /** Per command, the step that hands events to the outbox: a look-up must not let later events overtake. */
  private readonly steps = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(
    js: () => JetStreamClient,
    private readonly jsm: () => Promise<JetStreamManager>,
    private readonly logger: JsonLogger,
    private readonly metrics: EdcMetrics,
  ) {
    this.outbox = new JetStreamOutbox(js, { retry: OUTBOX_UNTIL_ACKED });
  }

  /** Every event up to this seq of `record`'s command is in the stream, as far as this replica knows. */
  ackedThrough(record: WithPublicEvents): number {
    return this.marks.get(keyOf(record))?.acked ?? 0;
  }

  /**
   * Sends the events of `record`'s outbox the stream may not hold yet, behind the command's earlier ones. Resolves
   * true once the stream holds them all, false if the publisher was closed first; never rejects. `ownFrom`: the
   * events from this seq on were written by this replica's own write just now; the others are looked up in the
   * stream first.
   */
  publish(record: WithPublicEvents, ownFrom = Infinity): Promise<boolean> {
    if (record.outbox.length === 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    const key = keyOf(record);
    const step = (this.steps.get(key) ?? Promise.resolve()).then(() =>
      this.queue(key, record, ownFrom),
    );
    const queued = step.catch(() => undefined);
    this.steps.set(key, queued);
    void queued.finally(() => {
      if (this.steps.get(key) === queued) this.steps.delete(key);
    });
    return step
      .then((sent) => sent.done)
      .catch((error: unknown) => {
        this.logger.event('error', 'could not queue command events', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          error,
        });
        return false;
      });
  }

  /** Waits (bounded) for publishes in progress, for shutdown. */
  settle(graceMs: number): Promise<void> {
    return this.outbox.settle(graceMs);
  }

  /** Stops retrying: what is not acked stays in the records, for the replica that takes over or this one's restart. */
  onApplicationShutdown(): void {
    this.closed = true;
    this.outbox.close();
  }

  /** Hands the unsent events to the outbox; `done` resolves when the stream acked them. */
  private async queue(
    key: string,
    record: WithPublicEvents,
    ownFrom: number,
  ): Promise<{ done: Promise<boolean> }> {
    const mark = this.markOf(key);
    let pending = unsent(record, mark);
    if (pending.length > 0 && pending[0].seq < ownFrom) {
      const stored = await this.storedThrough(record);
      mark.queued = Math.max(mark.queued, stored);
      mark.acked = Math.max(mark.acked, stored);
      pending = unsent(record, mark);
    }
    if (pending.length === 0) return { done: mark.last ?? Promise.resolve(true) };
    mark.queued = pending.at(-1)!.seq;
    const sent = this.outbox.send(
      key,
      pending.map((event) => ({
        subject: EVENT_SUBJECTS.edc(event.deviceId, event.requestId),
        payload: event,
        messageId: `${event.deviceId}:${event.requestId}:${event.seq}`,
      })),
      {
        listener: {
          attemptFailed: (failure) => this.reportFailed(failure),
          published: ({ payload }, attempts) => {
            mark.acked = Math.max(mark.acked, payload.seq);
            if (attempts > 1) this.reportPublishedLate(payload, attempts);
          },
        },
      },
    );
    mark.last = sent.then(({ failed }) => !failed);
    return { done: mark.last };
  }

  /**
   * The seq of the last event of the command the stream holds (0: none). A publisher sends a command's events in
   * order and only after what the stream holds, so everything up to it is there. Asked until it answers.
   */
  private async storedThrough(record: WithPublicEvents): Promise<number> {
    const subject = EVENT_SUBJECTS.edc(record.deviceId, record.requestId);
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const last = await (
          await this.jsm()
        ).streams.getMessage(STREAMS.edc, { last_by_subj: subject });
        return last ? last.json<EdcPublicEvent>().seq : 0;
      } catch (error) {
        if (attempt === 1)
          this.logger.event('warn', 'cannot read a command event stream; asking again', {
            deviceId: record.deviceId,
            requestId: record.requestId,
            error,
          });
        await sleep(OUTBOX_UNTIL_ACKED.delayMs(attempt));
      }
    }
    return publishedThroughOf(record);
  }

  private markOf(key: string): Mark {
    let mark = this.marks.get(key);
    if (mark) this.marks.delete(key);
    mark ??= { queued: 0, acked: 0 };
    this.marks.set(key, mark);
    if (this.marks.size > MAX_MARKS) this.forgetOneSettled();
    return mark;
  }

  /**
   * Forgets the least recently used command whose events are all acked. Forgetting costs nothing but a look-up in
   * the stream if its record is written again (its outbox may still list events this replica saw acked).
   */
  private forgetOneSettled(): void {
    for (const [key, mark] of this.marks) {
      if (mark.acked >= mark.queued) {
        this.marks.delete(key);
        return;
      }
    }
  }

  private reportFailed({ message, error, attempts }: OutboxFailure<EdcPublicEvent>): void {
    this.metrics.eventPublishFailures.inc();
    // one line per event, not one per retry: the outbox keeps trying every 2 s at most
    if (attempts !== 1) return;
    const event = message.payload;
    this.logger.event('warn', 'could not publish a command event; retrying until the stream acks', {
      deviceId: event.deviceId,
      requestId: event.requestId,
      seq: event.seq,
      type: event.type,
      error,
    });
  }

  private reportPublishedLate(event: EdcPublicEvent, attempts: number): void {
    this.logger.event('info', 'published a command event after retries', {
      deviceId: event.deviceId,
      requestId: event.requestId,
      seq: event.seq,
      attempts,
    });
  }
}

function keyOf(record: WithPublicEvents): string {
  return `${record.deviceId}:${record.requestId}`;
}

/** The events of the record's outbox after what the stream holds and what this replica already queued. */
function unsent(record: WithPublicEvents, mark: Mark): EdcPublicEvent[] {
  const through = Math.max(mark.queued, publishedThroughOf(record));
  return record.outbox.filter((event) => event.seq > through);
}
