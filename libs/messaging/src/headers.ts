import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { currentCorrelationId, newCorrelationId } from '@tillbus/observability';

export const HEADERS = {
  correlationId: 'Tillbus-Correlation-Id',
  /** Present on a reply that is an error envelope; its value is the error code. */
  error: 'Tillbus-Error',
  deadLetterReason: 'Tillbus-Dlq-Reason',
  deadLetterSubject: 'Tillbus-Dlq-Subject',
  deadLetterStream: 'Tillbus-Dlq-Stream',
  deadLetterSequence: 'Tillbus-Dlq-Sequence',
  deadLetterDeliveries: 'Tillbus-Dlq-Deliveries',
  /** JetStream de-duplication id. */
  messageId: 'Nats-Msg-Id',
} as const;

/** Headers for an outgoing message: the current correlation id (or a new one) plus any extras. */
export function outgoingHeaders(extra: Record<string, string> = {}): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADERS.correlationId, currentCorrelationId() ?? newCorrelationId());
  for (const [key, value] of Object.entries(extra)) h.set(key, value);
  return h;
}

export function correlationIdOf(h: MsgHdrs | undefined): string | undefined {
  const value = h?.get(HEADERS.correlationId);
  return value ? value.slice(0, 128) : undefined;
}
