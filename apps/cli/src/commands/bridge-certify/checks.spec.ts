import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CertifyContext, DEFAULT_CERTIFY_OPTIONS, type CheckOutcome } from './certifier';
import { seqCheck, vendorTimeoutCheck } from './delivery-checks';
import {
  ackDeadlineCheck,
  cardDataCheck,
  envelopeCheck,
  heartbeatCadenceCheck,
  sizeCheck,
} from './protocol-checks';
import { readSeen, type CertifySession, type Seen, type SentCommand } from './session';

const DEVICE = 'pos-0042-edc';
const SUBJECT = `tillbus.edc.bridge.${DEVICE}.events`;

/** A context over recorded traffic only: the whole-run checks read nothing else. */
function contextOf(seen: Seen[], sent: SentCommand[] = []): CertifyContext {
  const session = {
    deviceId: DEVICE,
    seen,
    sent,
    now: () => 10_000,
    heartbeats: () => seen.filter((s) => s.kind === 'heartbeat'),
    traffic: (id: string) => seen.filter((s) => s.kind === 'events' && s.raw?.requestId === id),
  } as unknown as CertifySession;
  const ctx = new CertifyContext(
    session,
    { terminal: async () => undefined, outage: async () => undefined },
    DEFAULT_CERTIFY_OPTIONS,
    () => undefined,
  );
  ctx.bridgeId = 'b1';
  return ctx;
}

const event = (seq: number, extra: Record<string, unknown> = {}) =>
  readSeen(
    'events',
    SUBJECT,
    Buffer.from(
      JSON.stringify({
        v: 1,
        type: 'event',
        deviceId: DEVICE,
        requestId: 'r1',
        commandName: 'Purchase',
        seq,
        sentAt: 1,
        body: { code: 'READY', ...extra },
      }),
    ),
    undefined,
    1,
  );

const WHOLE_RUN: ((ctx: CertifyContext) => CheckOutcome)[] = [
  envelopeCheck,
  sizeCheck,
  cardDataCheck,
  ackDeadlineCheck,
  seqCheck,
  heartbeatCadenceCheck,
  vendorTimeoutCheck,
];

describe('the checks over a whole run', () => {
  it('never throw, whatever a bridge sends', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom('events', 'heartbeat', 'ack'), fc.jsonValue(), fc.nat(20_000)),
          { maxLength: 12 },
        ),
        (messages) => {
          const seen = messages.map(([kind, value, at]) =>
            readSeen(
              kind as Seen['kind'],
              SUBJECT,
              Buffer.from(JSON.stringify(value) ?? 'null'),
              undefined,
              at,
            ),
          );
          for (const check of WHOLE_RUN) {
            expect(['PASS', 'FAIL']).toContain(check(contextOf(seen)).status);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('names where card data was, never the card number', () => {
    const outcome = cardDataCheck(contextOf([event(1, { message: 'card 5236497912345674' })]));
    expect(outcome.status).toBe('FAIL');
    expect(outcome.evidence).toMatch(/body\.message/);
    expect(outcome.evidence).not.toContain('5236497912345674');
  });

  it('fails a seq that skips ahead, and passes a retry of an earlier one', () => {
    expect(seqCheck(contextOf([event(1), event(3)])).status).toBe('FAIL');
    expect(seqCheck(contextOf([event(1), event(2), event(1), event(2)])).status).toBe('PASS');
  });

  it('fails a message above 256 KiB', () => {
    const big = event(1, { message: 'x'.repeat(300 * 1024) });
    expect(sizeCheck(contextOf([big])).evidence).toMatch(/> 262144/);
  });
});
