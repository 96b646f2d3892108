import type { NatsConnection } from '@nats-io/transport-node';

/**
 * What a check needs from outside the bus: a person at the terminal (a card, a signature), or an operator who
 * takes the stream away and back for the outage step. The certifier says what is needed, then watches the bus for
 * it with a countdown; it never needs a hook inside the bridge.
 *
 * - `card`: present a test card when the device shows READY (the Purchase runs to its result).
 * - `card-and-sign`: present a card and sign when asked (above 50,000 KRW).
 * - `no-card`: do not present a card until told; the command waits at READY.
 * - `card-then-hold`: present a card; the certifier cancels as soon as the card is read.
 * - `done`: the step is over (take the card back; a held simulator device is released).
 */
export type TerminalStep = 'card' | 'card-and-sign' | 'no-card' | 'card-then-hold' | 'done';

export interface Operator {
  /** Before the command is sent: what the person at the terminal is to do. */
  terminal(step: TerminalStep, deadlineMs: number): Promise<void>;
  /** The optional outage step: make the stream unavailable (`down`) or restore it (`up`). */
  outage(phase: 'down' | 'up', deadlineMs: number): Promise<void>;
}

const TERMINAL_TEXT: Record<TerminalStep, string> = {
  card: 'PERSON NEEDED: present a test card on the terminal when it asks for one (no signature needed)',
  'card-and-sign':
    'PERSON NEEDED: present a test card, then sign on the terminal when it asks (amount above 50,000 KRW)',
  'no-card':
    'PERSON NEEDED: do NOT present a card; the certifier cancels this payment while it waits',
  'card-then-hold':
    'PERSON NEEDED: present a test card; the certifier tries to cancel once the card is read (it must be refused)',
  done: 'thank you: take the card back',
};

const OUTAGE_TEXT = {
  down:
    "OPERATOR NEEDED: make the stream TILLBUS_EDC_BRIDGE unavailable now (as the certification server's " +
    'admin: `nats stream rm TILLBUS_EDC_BRIDGE`); the bridge must keep its result in its outbox',
  up:
    'OPERATOR NEEDED: bring the stream back now (start edc-command once, which declares it); the bridge must ' +
    'now publish what it kept',
} as const;

/** A person reads the instructions on the CLI's output; the certifier's countdown shows how long is left. */
export function personOperator(say: (line: string) => void): Operator {
  return {
    terminal(step, deadlineMs) {
      say(
        step === 'done'
          ? `  ${TERMINAL_TEXT.done}`
          : `  ${TERMINAL_TEXT[step]} (${Math.round(deadlineMs / 1000)} s)`,
      );
      return Promise.resolve();
    },
    outage(phase, deadlineMs) {
      say(`  ${OUTAGE_TEXT[phase]} (${Math.round(deadlineMs / 1000)} s)`);
      return Promise.resolve();
    },
  };
}

/**
 * The KICC bridge simulator plays the person: its control subject holds a device at a phase (`holdAt`) and lets it
 * go (`release`), which is how it scripts when a card is read (apps/simulators/src/kicc/README.md, "Faults").
 * The outage step stays with the operator: the simulator cannot take the stream away.
 */
export function simulatorOperator(
  nc: NatsConnection,
  controlSubject: string,
  deviceId: string,
  outage: Operator['outage'] = () => Promise.resolve(),
): Operator {
  const control = async (request: Record<string, unknown>) => {
    const reply = await nc.request(controlSubject, JSON.stringify(request), { timeout: 3000 });
    const answer = reply.json<{ ok: boolean; error?: string }>();
    if (!answer.ok) throw new Error(`the simulator refused ${String(request.op)}: ${answer.error}`);
  };
  const HOLD: Record<TerminalStep, string | null> = {
    card: null,
    'card-and-sign': null,
    'no-card': 'READY',
    'card-then-hold': 'CARD_READ_COMPLETED',
    done: null,
  };
  return {
    async terminal(step) {
      await control({ op: 'faults', deviceId, faults: { holdAt: HOLD[step] } });
    },
    outage,
  };
}
