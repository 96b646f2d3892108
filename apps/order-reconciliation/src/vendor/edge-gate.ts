import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { acceptedClientId, answer, writeUnsigned } from './edge-answer';
import { RateLimiter } from './rate-limiter';
import { EdgeRefusals } from './refusals';

/** Longest source address kept as a limiter key (an IPv6 address with a zone fits). */
const SOURCE_MAX = 64;

/**
 * The first checks of every request, run on its headers alone (Fastify's onRequest, before the body is read):
 * 1. the source address is under its rate limit (REQUEST_TRAFFIC_EXCEED_LIMIT);
 * 2. the Client-Id is one D-Store may use (ACCESS_DENIED);
 * 3. a Signature header is present (INVALID_SIGNATURE).
 * A request refused here costs no body read, no signature check and no signed answer: the answer is unsigned.
 */
@Injectable()
export class EdgeGate {
  private readonly allowed: ReadonlySet<string>;
  private readonly sources: RateLimiter;

  constructor(
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly refusals: EdgeRefusals,
  ) {
    this.allowed = new Set(config.DSTORE_CLIENT_IDS);
    this.sources = new RateLimiter(
      config.SOURCE_RATE_LIMIT_PER_SECOND,
      config.SOURCE_RATE_LIMIT_BURST,
      config.SOURCE_RATE_LIMIT_MAX_SOURCES,
    );
  }

  /** True when the request goes on; false when it has been answered here. */
  admit(req: FastifyRequest, reply: FastifyReply): boolean {
    const clientId = acceptedClientId(req, this.allowed);
    if (
      !this.sources.take(sourceOf(req, this.config.SOURCE_FROM_FORWARDED_FOR), this.clock.now())
    ) {
      this.refusals.record('source_rate_limit');
      writeUnsigned(
        reply,
        answer(
          'REQUEST_TRAFFIC_EXCEED_LIMIT',
          `more than ${this.config.SOURCE_RATE_LIMIT_PER_SECOND} requests per second from this address; slow down`,
        ),
        clientId,
      );
      return false;
    }
    if (clientId === undefined) {
      const missing = req.headers['client-id'] === undefined || req.headers['client-id'] === '';
      this.refusals.signatureFailure(missing ? 'MISSING_CLIENT_ID' : 'CLIENT_ID_MISMATCH');
      writeUnsigned(
        reply,
        answer(
          'ACCESS_DENIED',
          missing
            ? 'the Client-Id header is missing'
            : 'the Client-Id is not one this POS provider accepts',
        ),
        undefined,
      );
      return false;
    }
    const signature = req.headers.signature;
    if (signature === undefined || signature === '') {
      this.refusals.signatureFailure('MISSING_SIGNATURE');
      writeUnsigned(
        reply,
        answer('INVALID_SIGNATURE', 'the Signature header is missing'),
        clientId,
      );
      return false;
    }
    return true;
  }
}

/**
 * Who sent the request, for the per-source limit: the connection's remote address, or, behind our ingress
 * (SOURCE_FROM_FORWARDED_FOR), the last X-Forwarded-For entry, the one the ingress itself appended (entries before
 * it are the caller's own words).
 */
export function sourceOf(req: FastifyRequest, fromForwardedFor: boolean): string {
  if (fromForwardedFor) {
    const header = req.headers['x-forwarded-for'];
    const text = Array.isArray(header) ? header[header.length - 1] : header;
    const last = text?.slice(text.lastIndexOf(',') + 1).trim();
    if (last) return last.slice(0, SOURCE_MAX);
  }
  return req.raw.socket?.remoteAddress ?? 'unknown';
}
