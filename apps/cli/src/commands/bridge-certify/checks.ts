import type { CheckSpec } from './certifier';
import {
  duplicatesCheck,
  outboxResendCheck,
  seqCheck,
  streamCheck,
  vendorTimeoutCheck,
} from './delivery-checks';
import {
  cancelAfterCardReadFlow,
  cancelBeforeCardReadFlow,
  lastTransactionFlow,
  purchaseCancelFlow,
  purchaseFlow,
} from './flows';
import {
  ackDeadlineCheck,
  awaitSecondHeartbeat,
  busyCheck,
  cardDataCheck,
  envelopeCheck,
  heartbeatCadenceCheck,
  heartbeatDeviceCheck,
  notAfterCheck,
  resendCheck,
  sizeCheck,
  versionCheck,
} from './protocol-checks';

/**
 * Every check of `tillbus bridge certify`, in the order it runs. The flows come first; the checks over the whole
 * run's traffic (envelopes, sizes, card data, acks, seq, the stream) come after them, so they judge every message
 * the flows caused. The outage step runs last: taking the stream away loses what it held.
 *
 * Each id here must have a misbehaving-simulator mode that fails it (bridge-certify.test.ts checks the list).
 */
export const CERTIFY_CHECKS: readonly CheckSpec[] = [
  {
    id: 'heartbeat.device',
    rule: '§5 the bridge beats on tillbus.edc.bridge.heartbeat.<bridgeId> and lists the device, INIT_SUCCESS',
    run: async (ctx) => {
      const outcome = await heartbeatDeviceCheck(ctx);
      await awaitSecondHeartbeat(ctx);
      return outcome;
    },
  },
  {
    id: 'version.negotiation',
    rule: '§8 protocolVersions in the heartbeat; a command of another version is refused with invalid',
    run: versionCheck,
  },
  {
    id: 'purchase.plain',
    rule: '§3 Purchase without signature: READY > CARD_READ_COMPLETED > START_TRANSACTION > onSuccess',
    person: 'present a test card (no signature)',
    run: (ctx) => purchaseFlow(ctx, false),
  },
  {
    id: 'purchase.signature',
    rule: '§3 Purchase above 50,000 KRW: PENDING_SIGNATURE before START_TRANSACTION, then onSuccess',
    person: 'present a test card and sign',
    run: (ctx) => purchaseFlow(ctx, true),
  },
  {
    id: 'purchase-cancel',
    rule: "§3.1 PurchaseCancel with the Purchase's acquirerMetaData: onSuccess, tagged PurchaseCancel",
    run: purchaseCancelFlow,
  },
  {
    id: 'get-last-transaction',
    rule: '§7 GetLastTransaction answers the last transaction, with its responseCommand',
    run: lastTransactionFlow,
  },
  {
    id: 'command-cancel.before-card-read',
    rule: '§4 step 4 CommandCancel of the running command before the card is read: accepted, onSuccess',
    person: 'do not present a card',
    run: cancelBeforeCardReadFlow,
  },
  {
    id: 'command-cancel.after-card-read',
    rule: '§7 CommandCancel after CARD_READ_COMPLETED is refused; the payment goes on',
    person: 'present a test card',
    run: cancelAfterCardReadFlow,
  },
  {
    id: 'busy.refused',
    rule: '§4 step 5 a second command while one runs: busy, with runningRequestId',
    person: 'do not present a card',
    run: busyCheck,
  },
  {
    id: 'resend.executed-once',
    rule: '§7 the same requestId sent twice: duplicate, the stored traffic replayed unchanged, nothing run again',
    run: resendCheck,
  },
  {
    id: 'timeouts.not-after',
    rule: '§4 step 2 a command received after notAfter: expired, not started',
    run: notAfterCheck,
  },
  {
    id: 'timeouts.vendor',
    rule: '§4 each result within the SDK timeout (Purchase 95 s/115 s, PurchaseCancel 85 s, others 5 s)',
    run: async (ctx) => vendorTimeoutCheck(ctx),
  },
  {
    id: 'envelope.fields',
    rule: '§2 every message parses with the reference codec; acks echo requestId and commandName',
    run: async (ctx) => envelopeCheck(ctx),
  },
  {
    id: 'envelope.size',
    rule: '§1 every message at most 256 KiB',
    run: async (ctx) => sizeCheck(ctx),
  },
  {
    id: 'card-data',
    rule: '§9 no card data beyond the BIN; private fields only in results',
    run: async (ctx) => cardDataCheck(ctx),
  },
  {
    id: 'ack.deadline',
    rule: '§3.2 every command acked within 2 s',
    run: async (ctx) => ackDeadlineCheck(ctx),
  },
  {
    id: 'seq.order',
    rule: '§6 seq from 1 per requestId, published in order, the result last',
    run: async (ctx) => seqCheck(ctx),
  },
  {
    id: 'heartbeat.cadence',
    rule: '§5 a heartbeat every intervalMs, seq +1 each',
    run: async (ctx) => heartbeatCadenceCheck(ctx),
  },
  {
    id: 'delivery.stream',
    rule: '§4 step 7 events and results through JetStream, Nats-Msg-Id <deviceId>:<requestId>:<seq>, stored by the stream',
    run: streamCheck,
  },
  {
    id: 'delivery.no-duplicates',
    rule: '§7 one result per command; no seq with two contents; the stream stores each message once',
    run: duplicatesCheck,
  },
  {
    id: 'delivery.outbox-resend',
    rule: '§4 step 7 a publish without PubAck is retried from the outbox until the stream stores it (optional step)',
    run: outboxResendCheck,
  },
];
