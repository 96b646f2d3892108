/**
 * A "misbehaving bridge": one deliberate breach of docs/bridge-protocol.md per mode, so that `tillbus bridge
 * certify` can be shown to fail each rule it checks (a certifier that cannot fail is worthless). Modes are device
 * faults (`DeviceFaults.misbehave`), chosen at start (`--misbehave <mode>`) or at run time (`setFaults`, or the
 * `faults` control op). Heartbeat modes apply to the bridge when any of its devices has them.
 *
 * simulator.ts calls the hooks below at the points a real bridge would go wrong; everything else stays correct.
 */
export const BRIDGE_MISBEHAVIOURS = {
  'wrong-version': 'runs a command of a protocol version it does not speak instead of refusing it',
  'bad-envelope': 'sends events whose sentAt is a formatted date instead of epoch milliseconds',
  oversized: 'pads every result with 300 KiB, above the 256 KiB message limit',
  'slow-heartbeat': 'beats every 3 intervals while its heartbeat announces 1',
  'hide-device': 'leaves the device out of its heartbeat',
  'late-ack': 'acks every command 2.5 s after it arrived (the limit is 2 s)',
  'out-of-order-seq': 'publishes the second message of each command after the third',
  'no-signature-event': 'never reports PENDING_SIGNATURE',
  'bad-purchase-result': 'drops acquirerMetaData from a successful Purchase result',
  'cancel-wrong-tag': "tags a PurchaseCancel's result with commandName Purchase",
  'glt-no-response-command': 'drops responseCommand from GetLastTransaction answers',
  'cancel-refused': 'answers every CommandCancel with not_running',
  'cancel-after-card-read': 'cancels the running command even after the card was read',
  'core-publish':
    'publishes events and results with core NATS: no stream, no PubAck, no Nats-Msg-Id',
  'duplicate-results': 'publishes each result twice, the second time under a new seq',
  'no-resend': 'drops a message from its outbox when its publish fails instead of retrying it',
  'execute-resend-twice': 'runs a command again when the same requestId is sent twice',
  'ignore-busy': 'accepts a second command while one runs on the device',
  'ignore-not-after': 'starts a command that arrives after its notAfter',
  'slow-results': 'publishes every result 3 s late',
  'leak-card-data': 'puts the card number into every successful Purchase result',
} as const;

export type BridgeMisbehaviour = keyof typeof BRIDGE_MISBEHAVIOURS;
export const BRIDGE_MISBEHAVIOUR_LIST = Object.keys(BRIDGE_MISBEHAVIOURS) as BridgeMisbehaviour[];

export function isBridgeMisbehaviour(value: unknown): value is BridgeMisbehaviour {
  return typeof value === 'string' && value in BRIDGE_MISBEHAVIOURS;
}

export const LATE_ACK_MS = 2_500;
export const SLOW_RESULT_MS = 3_000;
export const SLOW_HEARTBEAT_FACTOR = 3;
const OVERSIZE_PADDING = 'x'.repeat(300 * 1024);
/** A test card number (Luhn-valid Mastercard test PAN): what a leaking bridge would send. */
const LEAKED_PAN = '5236497912345674';

/** The modes in force on a device (an absent list: none). */
export class Misbehaviours {
  private readonly modes: ReadonlySet<BridgeMisbehaviour>;

  constructor(modes: readonly BridgeMisbehaviour[] | undefined) {
    for (const mode of modes ?? []) {
      if (!isBridgeMisbehaviour(mode)) {
        throw new Error(
          `unknown misbehaviour ${String(mode)}; one of ${BRIDGE_MISBEHAVIOUR_LIST.join(', ')}`,
        );
      }
    }
    this.modes = new Set(modes ?? []);
  }

  has(mode: BridgeMisbehaviour): boolean {
    return this.modes.has(mode);
  }

  get any(): boolean {
    return this.modes.size > 0;
  }

  ackDelayMs(): number {
    return this.has('late-ack') ? LATE_ACK_MS : 0;
  }

  resultDelayMs(): number {
    return this.has('slow-results') ? SLOW_RESULT_MS : 0;
  }

  /** Whether an event of this code is reported at all. */
  reportsEvent(code: string): boolean {
    return !(code === 'PENDING_SIGNATURE' && this.has('no-signature-event'));
  }

  /**
   * The envelope as this bridge gets it wrong; null when nothing changes (the message then goes through the
   * codec's checks as usual). A changed message is serialised as it is.
   */
  outgoing(message: Record<string, unknown>): Record<string, unknown> | null {
    let changed = false;
    const out = structuredClone(message);
    const body = (out.body ?? {}) as Record<string, unknown>;
    const responseData = body.responseData as Record<string, unknown> | undefined;
    if (out.type === 'event' && this.has('bad-envelope')) {
      out.sentAt = new Date(Number(out.sentAt)).toISOString();
      changed = true;
    }
    if (out.type === 'result' && this.has('oversized')) {
      body.padding = OVERSIZE_PADDING;
      changed = true;
    }
    if (
      out.type === 'result' &&
      out.commandName === 'PurchaseCancel' &&
      this.has('cancel-wrong-tag')
    ) {
      out.commandName = 'Purchase';
      changed = true;
    }
    if (out.type === 'result' && responseData && body.callback === 'onSuccess') {
      if (out.commandName === 'Purchase' && this.has('bad-purchase-result')) {
        const acquirerInfo = { ...(responseData.acquirerInfo as Record<string, unknown>) };
        delete acquirerInfo.acquirerMetaData;
        responseData.acquirerInfo = acquirerInfo;
        changed = true;
      }
      if (out.commandName === 'Purchase' && this.has('leak-card-data')) {
        responseData.paymentResultInfo = {
          ...(responseData.paymentResultInfo as Record<string, unknown>),
          cardNumber: LEAKED_PAN,
        };
        changed = true;
      }
      if (out.commandName === 'GetLastTransaction' && this.has('glt-no-response-command')) {
        delete responseData.responseCommand;
        changed = true;
      }
    }
    return changed ? out : null;
  }
}

/**
 * The publish order of one command's messages under `out-of-order-seq`: seq 2 waits for seq 3 and goes right after
 * it. Everything else goes at once.
 */
export class SeqShuffler<T extends { seq: number; type: string }> {
  private held = new Map<string, T>();

  order(requestId: string, message: T, enabled: boolean): T[] {
    if (!enabled) return [message];
    if (message.seq === 2 && message.type === 'event') {
      this.held.set(requestId, message);
      return [];
    }
    const held = this.held.get(requestId);
    if (message.seq >= 3 && held) {
      this.held.delete(requestId);
      return [message, held];
    }
    return [message];
  }
}
