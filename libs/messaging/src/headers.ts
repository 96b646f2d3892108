import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { currentCorrelationId, newCorrelationId } from '@tillbus/observability';
import { HEADERS } from '@tillbus/contracts';

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
