import { AdyenProtocolError } from './errors';

/*
 * ServiceID = tick (5) + slot (2) + sequence (3), base36 upper case, always 10 characters.
 *
 * Why it is unique for 48 h (README.md "ServiceID" has the full argument):
 * - tick = floor(clock / 10 ms), clamped so it never goes backwards in one generator; it wraps after 36^5 ticks
 *   (6 d 23 h 57 min), so an id can only repeat after that minus twice the clock skew.
 * - slot = a replica slot held through an exclusive lease (at most 1296 replicas); the generator stops issuing when
 *   its lease runs out.
 * - sequence counts ids within one tick (at most 46,656 per 10 ms per replica; beyond that `next()` throws).
 * - a new holder of a slot (another replica, or the same one restarted) waits until its clock is past
 *   (clock at acquisition + 2 x max clock skew): every tick the previous holder could have used is then behind it.
 * Assumes: every replica clock within ±maxClockSkew of true time (any skew below 59 h works), leases exclusive.
 */

export const SERVICE_ID_LAYOUT = {
  radix: 36,
  tickMs: 10,
  tickChars: 5,
  slotChars: 2,
  sequenceChars: 3,
} as const;

const { radix, tickMs, tickChars, slotChars, sequenceChars } = SERVICE_ID_LAYOUT;

const TICK_PERIOD = radix ** tickChars;
/** After this long the tick field repeats. */
export const SERVICE_ID_WRAP_MS = TICK_PERIOD * tickMs;
/** Replicas that can issue at the same time (slots 0 .. 1295). */
export const SERVICE_ID_SLOTS = radix ** slotChars;
/** ServiceIDs one replica can issue within one tick. */
export const SERVICE_ID_PER_TICK = radix ** sequenceChars;
/** Adyen: a ServiceID must be unique per POIID for 48 h. */
export const SERVICE_ID_UNIQUE_WINDOW_MS = 48 * 60 * 60 * 1000;
/** The largest clock skew the argument tolerates: two ids of equal tick field are >= WRAP - 2 x (skew + tick) apart. */
export const SERVICE_ID_MAX_TOLERATED_SKEW_MS =
  Math.floor((SERVICE_ID_WRAP_MS - SERVICE_ID_UNIQUE_WINDOW_MS) / 2) - 2 * tickMs;

const SERVICE_ID_PATTERN = /^[A-Za-z0-9]{1,10}$/;

/** Adyen's rule: 1-10 alphanumeric characters. */
export function isValidServiceId(value: unknown): value is string {
  return typeof value === 'string' && SERVICE_ID_PATTERN.test(value);
}

/** The `notBeforeMs` for a generator: read this host's clock after the slot lease was written. */
export function serviceIdHandoverNotBefore(
  clockAfterAcquireMs: number,
  maxClockSkewMs: number,
): number {
  return clockAfterAcquireMs + 2 * maxClockSkewMs;
}

export interface ServiceIdGeneratorOptions {
  /** The replica slot this process holds an exclusive lease on, 0 .. SERVICE_ID_SLOTS - 1. */
  slot: number;
  /** From `serviceIdHandoverNotBefore`: no id is issued until the clock is past it. */
  notBeforeMs: number;
  /** On this host's clock; `next()` refuses from then on. Omit only for a slot no other process can ever hold. */
  leaseExpiresAtMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

export interface ServiceIdGenerator {
  readonly slot: number;
  /** The first clock reading at which `next()` issues. */
  readonly readyAtMs: number;
  /** Moves the lease end after a renewal (this host's clock: time the renewal was sent + lease TTL). */
  renewLease(expiresAtMs: number): void;
  /** A fresh ServiceID, or an AdyenProtocolError (never a duplicate). */
  next(): string;
}

export function createServiceIdGenerator(options: ServiceIdGeneratorOptions): ServiceIdGenerator {
  const { slot, notBeforeMs } = options;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(slot) || slot < 0 || slot >= SERVICE_ID_SLOTS) {
    throw new AdyenProtocolError(
      'INVALID_ARGUMENT',
      `slot must be an integer in 0..${SERVICE_ID_SLOTS - 1}`,
    );
  }
  if (!Number.isFinite(notBeforeMs)) {
    throw new AdyenProtocolError('INVALID_ARGUMENT', 'notBeforeMs must be a finite number');
  }
  let leaseExpiresAtMs = checkedLeaseEnd(options.leaseExpiresAtMs ?? Number.POSITIVE_INFINITY);
  // Strictly after the tick that contains notBeforeMs: the previous holder may have used that one.
  const firstTick = Math.floor(notBeforeMs / tickMs) + 1;
  const slotField = encode(slot, slotChars);
  let lastTick = Number.NEGATIVE_INFINITY;
  let sequence = 0;

  return {
    slot,
    readyAtMs: firstTick * tickMs,
    renewLease(expiresAtMs: number) {
      leaseExpiresAtMs = checkedLeaseEnd(expiresAtMs);
    },
    next() {
      const clock = now();
      if (!Number.isFinite(clock) || clock < 0) {
        throw new AdyenProtocolError(
          'INVALID_ARGUMENT',
          'the clock returned a time before the epoch or not a number',
        );
      }
      if (clock >= leaseExpiresAtMs) throw new AdyenProtocolError('SERVICE_ID_LEASE_EXPIRED');
      // A clock that steps backwards keeps the last tick: ids stay increasing within this generator.
      const tick = Math.max(Math.floor(clock / tickMs), lastTick);
      if (tick < firstTick) {
        throw new AdyenProtocolError('SERVICE_ID_NOT_READY', undefined, {
          retryAfterMs: firstTick * tickMs - clock,
        });
      }
      if (tick > lastTick) {
        lastTick = tick;
        sequence = 0;
      } else if (sequence >= SERVICE_ID_PER_TICK) {
        throw new AdyenProtocolError('SERVICE_ID_EXHAUSTED', undefined, {
          retryAfterMs: (tick + 1) * tickMs - clock,
        });
      }
      const id =
        encode(tick % TICK_PERIOD, tickChars) + slotField + encode(sequence, sequenceChars);
      sequence += 1;
      return id;
    },
  };
}

function checkedLeaseEnd(expiresAtMs: number): number {
  if (Number.isNaN(expiresAtMs))
    throw new AdyenProtocolError('INVALID_ARGUMENT', 'leaseExpiresAtMs must be a number');
  return expiresAtMs;
}

function encode(value: number, width: number): string {
  return value.toString(radix).toUpperCase().padStart(width, '0');
}
