import { createHash } from 'node:crypto';

/**
 * Every subject, stream and bucket name on the tillbus bus, in one place. Request/reply subjects are
 * `tillbus.<service>.<verb>`; events are JetStream subjects under `tillbus.events.`.
 */
export const SUBJECT_ROOT = 'tillbus';

export const SERVICES = {
  deviceHealth: 'device-health',
  orderReconciliation: 'order-reconciliation',
  edcCommand: 'edc-command',
  easycardSession: 'easycard-session',
} as const;
export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES];

export const SUBJECTS = {
  deviceHealth: {
    readiness: 'tillbus.device-health.readiness',
    diagnose: 'tillbus.device-health.diagnose',
    /** Per-vendor diagnose: answered only by replicas that serve the vendor (DEVICE_HEALTH_VENDORS). */
    diagnoseAntom: 'tillbus.device-health.diagnose.antom',
    diagnoseAdyen: 'tillbus.device-health.diagnose.adyen',
    terminalsUpsert: 'tillbus.device-health.terminals.upsert',
    terminalsRemove: 'tillbus.device-health.terminals.remove',
    terminalsList: 'tillbus.device-health.terminals.list',
  },
  orderReconciliation: {
    get: 'tillbus.order-reconciliation.get',
    stuck: 'tillbus.order-reconciliation.stuck',
    redeliver: 'tillbus.order-reconciliation.redeliver',
  },
  edc: {
    submit: 'tillbus.edc.command.submit',
    get: 'tillbus.edc.command.get',
    submitAndWait: 'tillbus.edc.command.submit-and-wait',
    /** Operator only (auth.conf): settles a command in doubt. */
    settle: 'tillbus.edc.command.settle',
  },
  easycard: {
    sessionGet: 'tillbus.easycard.session.get',
    sessionList: 'tillbus.easycard.session.list',
    /**
     * Handled as `tillbus.easycard.session.key.*`; asked on `…key.<deviceId>` (easycardKeySubject), so NATS
     * permissions can give each store's identity only its own readers' keys.
     */
    sessionKey: 'tillbus.easycard.session.key.*',
    signon: 'tillbus.easycard.signon',
    readersRegister: 'tillbus.easycard.readers.register',
  },
} as const;

/** JetStream event subjects, built from validated tokens so an id can never widen a subject. */
export const EVENT_SUBJECTS = {
  terminalHealth: (vendor: string, terminalId: string) =>
    `tillbus.events.terminal.health.${subjectToken(vendor)}.${subjectToken(terminalId)}`,
  terminalHealthAll: 'tillbus.events.terminal.health.>',
  /** `orderToken` is orderSubjectToken(requestOrderId): what POS publishers and order-reconciliation both use. */
  order: (kind: string, orderToken: string) =>
    `tillbus.events.orders.${subjectToken(kind)}.${subjectToken(orderToken)}`,
  ordersAll: 'tillbus.events.orders.>',
  edc: (deviceId: string, requestId: string) =>
    `tillbus.events.edc.${subjectToken(deviceId)}.${subjectToken(requestId)}`,
  edcAll: 'tillbus.events.edc.>',
  easycardSession: (deviceId: string) =>
    `tillbus.events.easycard.session.${subjectToken(deviceId)}`,
  easycardSessionAll: 'tillbus.events.easycard.session.>',
} as const;

// Safe as a KV key and as a subject token alike (the intersection of both alphabets), and short enough for both.
const DIRECT_ORDER_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The subject token (and order-reconciliation's KV key) of an order, `<orderToken>` in
 * `tillbus.events.orders.<kind>.<orderToken>`. `requestOrderId` is any string up to 255 characters, so ids made only
 * of letters, digits, `_` and `-` (up to 128) are used as they are, and any other id becomes `=` followed by the
 * unpadded base64url SHA-256 of its UTF-8 bytes. `=` never appears in a direct id, so the two forms cannot collide.
 * POS developers publishing lifecycle events compute the same token (docs/services/order-reconciliation.md).
 */
export function orderSubjectToken(requestOrderId: string): string {
  if (DIRECT_ORDER_ID.test(requestOrderId)) return requestOrderId;
  return `=${createHash('sha256').update(requestOrderId, 'utf8').digest('base64url')}`;
}

/** The subject a store asks a reader's session key on: one per reader, so permissions can name it. */
export const easycardKeySubject = (deviceId: string) =>
  `tillbus.easycard.session.key.${subjectToken(deviceId)}`;

/** Where a durable consumer puts a message it gave up on. */
export const deadLetterSubject = (stream: string, consumer: string) =>
  `tillbus.dlq.${subjectToken(stream)}.${subjectToken(consumer)}`;
export const DEAD_LETTER_ALL = 'tillbus.dlq.>';

export const STREAMS = {
  terminalHealth: 'TILLBUS_TERMINAL_HEALTH',
  orders: 'TILLBUS_ORDERS',
  edc: 'TILLBUS_EDC',
  easycard: 'TILLBUS_EASYCARD',
  deadLetters: 'TILLBUS_DLQ',
} as const;

// A token is one subject level: no dots, wildcards, whitespace or control characters.
const TOKEN = /^[A-Za-z0-9_\-:@+=~]{1,128}$/;

export function isSubjectToken(value: string): boolean {
  return TOKEN.test(value);
}

export function subjectToken(value: string): string {
  if (!isSubjectToken(value)) {
    throw new InvalidSubjectTokenError(value);
  }
  return value;
}

export class InvalidSubjectTokenError extends Error {
  override readonly name = 'InvalidSubjectTokenError';
  readonly code = 'PARAM_ILLEGAL';
  constructor(value: string) {
    super(
      `"${value.slice(0, 40)}" cannot be used in a subject: use 1-128 letters, digits or _-:@+=~ (no dots, spaces or wildcards)`,
    );
  }
}

/** Every request/reply subject, for the AsyncAPI contract test. */
export function allRequestSubjects(): string[] {
  return Object.values(SUBJECTS).flatMap((group) => Object.values(group));
}
