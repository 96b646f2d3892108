import {
  type EdcCommandView,
  type EdcPublicEvent,
  EVENT_SUBJECTS,
  STREAMS,
  SUBJECTS,
} from '@tillbus/contracts';
import type { CommandContext, CommandResult } from '../cli';
import { CliError, EXIT, UsageError } from '../errors';
import { failureOf, progressLine, viewText } from './edc-text';

const DEVICE_HINT =
  'device ids look like sim-b0-d0 in the demo; a bridge must be online (its heartbeat) for its devices';

interface Submission {
  deviceId: string;
  requestId: string;
  commandName: string;
  params?: Record<string, unknown>;
  purchase?: { deviceId: string; requestId: string };
  targetRequestId?: string;
  waitMs: number;
}

/**
 * Submits, then follows the command's events on JetStream (from its first event, so none is missed) until its
 * outcome; prints each as it arrives. The outcome is read back with `get`, the record of truth.
 */
export async function runAndFollow(
  ctx: CommandContext,
  submission: Submission,
): Promise<CommandResult> {
  const { waitMs, ...request } = submission;
  const accepted = await ctx.bus
    .request<EdcCommandView>(SUBJECTS.edc.submit, request)
    .catch(notFoundHint(DEVICE_HINT));
  ctx.progress(`${accepted.commandName} ${accepted.requestId} accepted on ${accepted.deviceId}`);
  const events: EdcPublicEvent[] = [];
  let outcome: EdcPublicEvent | undefined;
  if (!accepted.final) {
    outcome = await follow(ctx, accepted.deviceId, accepted.requestId, waitMs, (event) => {
      events.push(event);
      ctx.progress(progressLine(event, accepted.acceptedAt));
    });
  }
  const view = await ctx.bus.request<EdcCommandView>(SUBJECTS.edc.get, {
    deviceId: accepted.deviceId,
    requestId: accepted.requestId,
  });
  if (!outcome && !view.final && view.phase !== 'in_doubt') {
    throw new CliError(
      'TIMEOUT',
      `no outcome within ${Math.round(waitMs / 1000)} s; the command goes on: \`tillbus edc get ${view.requestId} --device ${view.deviceId}\``,
      EXIT.timeout,
    );
  }
  return { data: { command: view, events }, text: `\n${viewText(view)}`, ...failureOf(view) };
}

async function follow(
  ctx: CommandContext,
  deviceId: string,
  requestId: string,
  waitMs: number,
  onEvent: (event: EdcPublicEvent) => void,
): Promise<EdcPublicEvent | undefined> {
  const js = await ctx.bus.jetstream();
  const { DeliverPolicy } = await import('@nats-io/jetstream');
  const consumer = await js.consumers.get(STREAMS.edc, {
    filter_subjects: EVENT_SUBJECTS.edc(deviceId, requestId),
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const timer = setTimeout(() => void messages.close(), waitMs);
  try {
    for await (const message of messages) {
      const event = message.json<EdcPublicEvent>();
      onEvent(event);
      if (event.type === 'outcome') return event;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
  }
}

/** The device of a command, from the subject of its events (`tillbus.events.edc.<deviceId>.<requestId>`). */
export async function deviceOfRequest(ctx: CommandContext, requestId: string): Promise<string> {
  if (!/^[A-Za-z0-9_:-]{1,128}$/.test(requestId)) {
    throw new UsageError('<requestId> must be 1-128 characters of A-Z a-z 0-9 _ : -');
  }
  const js = await ctx.bus.jetstream();
  const { DeliverPolicy } = await import('@nats-io/jetstream');
  const consumer = await js.consumers.get(STREAMS.edc, {
    filter_subjects: `tillbus.events.edc.*.${requestId}`,
    deliver_policy: DeliverPolicy.Last,
  });
  const message = await consumer.next({ expires: 2000 });
  if (!message) {
    throw new CliError(
      'NOT_FOUND',
      `no events of a command ${requestId} (records are kept 72 h, events as long as the stream keeps them)`,
      EXIT.failed,
      'name the device: `tillbus edc get <requestId> --device <deviceId>`',
    );
  }
  return message.subject.split('.')[3];
}

/** Adds a hint to an answer that the command, device or bridge is not there. */
export function notFoundHint(hint: string) {
  return (error: unknown): never => {
    if (
      error instanceof CliError &&
      ['NOT_FOUND', 'DEVICE_UNKNOWN', 'BRIDGE_OFFLINE'].includes(error.code)
    ) {
      throw new CliError(error.code, error.message, error.exitCode, hint, error.details);
    }
    throw error;
  };
}
