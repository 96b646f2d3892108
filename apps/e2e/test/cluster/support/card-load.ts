import type { NatsConnection } from '@nats-io/transport-node';
import { BusRequestError, type EdcCommandView, SUBJECTS } from '@tillbus/contracts';
import { requestJson } from '@tillbus/messaging';

/** One submit as the POS saw it: accepted (the reply was the command's view) or refused with a code. */
export interface Attempt {
  deviceId: string;
  requestId: string;
  sentAt: number;
  answeredAt: number;
  /** 'accepted', or the error code (UNAVAILABLE, TIMEOUT, NO_RESPONDERS, DEVICE_BUSY...). */
  result: string;
  /** The refusal's message. */
  message?: string;
}

export interface Command {
  deviceId: string;
  requestId: string;
  /** When the POS first had the accepting reply; undefined when no submit was answered with the view. */
  acceptedAt?: number;
  /** The last view read: final, or what it was when the load gave up waiting. */
  view?: EdcCommandView;
}

export interface CardLoad {
  attempts: Attempt[];
  commands: Map<string, Command>;
  /** The first accepting reply at or after `t` (ms since epoch). */
  firstAcceptedAfter(t: number): Attempt | undefined;
  /**
   * Starts one more lane now, on an idle device: the first accept after a fault is then a new command's, not held
   * back by a device still busy with a command the fault caught in flight.
   */
  probe(deviceId: string): void;
  /** Stops submitting new commands, then waits until every command the POS sent has its final state. */
  finish(timeoutMs?: number): Promise<void>;
}

const SUBMIT_TIMEOUT_MS = 2_000;
const RETRY_MS = 100;
const OVERLAP_MS = 250;
const POLL_MS = 150;
/** The least time finish() gives the store to answer for the commands not seen final. */
const SETTLE_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

export function purchasePayload(deviceId: string, requestId: string) {
  return {
    deviceId,
    requestId,
    commandName: 'Purchase',
    params: {
      paymentAmount: { value: '104', currency: 'KRW' },
      taxAmount: { value: '9', currency: 'KRW' },
      tipAmount: { value: '0', currency: 'KRW' },
      creditPayPlan: { installmentNum: '0' },
      paymentExpiryTime: '30',
      acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
    },
  };
}

/**
 * Card load as a POS makes it: on each device, one Purchase at a time. A refused or unanswered submit is sent again
 * with the same requestId and params (the POS does not know whether a TIMEOUT was accepted; submit is idempotent),
 * 100 ms after a refusal, or alongside a submit unanswered for 250 ms; an accepted command is followed with `get` until it is final, then the device takes the next one.
 */
export function startCardLoad(nc: NatsConnection, devices: string[], label: string): CardLoad {
  const connection = { connect: async () => nc };
  const attempts: Attempt[] = [];
  const commands = new Map<string, Command>();
  let stopping = false;
  let abandoned = false;

  const request = <T>(subject: string, payload: unknown, timeoutMs = SUBMIT_TIMEOUT_MS) =>
    requestJson<T>(connection, subject, payload, { timeoutMs });
  const codeOf = (error: unknown) =>
    error instanceof BusRequestError ? error.code : `CLIENT:${(error as Error).message}`;

  const untilFinal = async (command: Command) => {
    while (!abandoned) {
      try {
        command.view = await request<EdcCommandView>(SUBJECTS.edc.get, {
          deviceId: command.deviceId,
          requestId: command.requestId,
        });
        if (command.view.final) return;
      } catch {
        // the bus or the store is failing over: ask again
      }
      await sleep(POLL_MS);
    }
  };

  const lane = async (deviceId: string) => {
    while (!stopping) {
      const requestId = `${label}-${deviceId}-${Date.now().toString(36)}-${counter++}`;
      const command: Command = { deviceId, requestId };
      commands.set(requestId, command);
      const payload = purchasePayload(deviceId, requestId);
      while (!stopping && command.acceptedAt === undefined) {
        const sentAt = Date.now();
        const attempt = request<EdcCommandView>(SUBJECTS.edc.submit, payload).then(
          (view) => {
            const answeredAt = Date.now();
            attempts.push({ deviceId, requestId, sentAt, answeredAt, result: 'accepted' });
            if (command.acceptedAt === undefined) {
              command.acceptedAt = answeredAt;
              command.view = view;
            }
            return true;
          },
          (error: unknown) => {
            attempts.push({
              deviceId,
              requestId,
              sentAt,
              answeredAt: Date.now(),
              result: codeOf(error),
              message: (error as Error).message,
            });
            return false;
          },
        );
        // A submit that hangs (its node cut off, a leader being elected) does not hold the POS back: the same
        // submit goes again alongside it, so the first accept after a fault is seen within ~OVERLAP_MS.
        const answered = await Promise.race([attempt, sleep(OVERLAP_MS).then(() => undefined)]);
        if (answered === false) await sleep(RETRY_MS);
      }
      if (command.acceptedAt !== undefined) await untilFinal(command);
    }
  };

  // A lane follows its last command to the end after finish() was asked, until finish's time is up.
  const lanes = devices.map(lane);

  return {
    attempts,
    commands,
    probe: (deviceId) => {
      lanes.push(lane(deviceId));
    },
    firstAcceptedAfter: (t) =>
      attempts
        .filter((a) => a.result === 'accepted' && a.answeredAt >= t)
        .sort((a, b) => a.answeredAt - b.answeredAt)[0],
    finish: async (timeoutMs = 60_000) => {
      stopping = true;
      const deadline = Date.now() + timeoutMs;
      await Promise.race([Promise.all(lanes), sleep(timeoutMs)]);
      abandoned = true;
      // A command whose submits all went unanswered may still have been accepted: the store is the judge. Its
      // look gets time of its own: a lane that waited out `timeoutMs` on a command that never ends must not leave
      // the commands accepted by a late reply (after their lane stopped) judged on their accepting view.
      const settleUntil = Math.max(deadline, Date.now() + SETTLE_MS);
      await Promise.all(
        [...commands.values()]
          .filter((command) => command.acceptedAt === undefined || !command.view?.final)
          .map((command) => settle(command, settleUntil)),
      );
    },
  };

  async function settle(command: Command, until: number) {
    while (Date.now() < until) {
      try {
        command.view = await request<EdcCommandView>(SUBJECTS.edc.get, {
          deviceId: command.deviceId,
          requestId: command.requestId,
        });
        if (command.view.final) return;
      } catch (error) {
        if (codeOf(error) === 'NOT_FOUND') {
          command.view = undefined;
          return;
        }
      }
      await sleep(POLL_MS);
    }
  }
}
