import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdyenProtocolError } from './errors';
import {
  createServiceIdGenerator,
  isValidServiceId,
  SERVICE_ID_MAX_TOLERATED_SKEW_MS,
  SERVICE_ID_PER_TICK,
  SERVICE_ID_SLOTS,
  SERVICE_ID_UNIQUE_WINDOW_MS,
  SERVICE_ID_WRAP_MS,
  serviceIdHandoverNotBefore,
  type ServiceIdGenerator,
} from './service-id';

const HOUR = 60 * 60 * 1000;
const START = Date.UTC(2025, 0, 1);

function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AdyenProtocolError) return error.code;
    throw error;
  }
  return undefined;
}

function fixedClock(start: number) {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
}

/** Small deterministic PRNG so a failing simulation can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('isValidServiceId', () => {
  it.each(['1', 'A', 'abcDEF0123', '0000000000'])('accepts %s', (id) => {
    expect(isValidServiceId(id)).toBe(true);
  });

  it.each(['', 'abcDEF01234', 'abc-1', 'abc 1', 'é', '12345678\n', 12, null, undefined])(
    'refuses %s',
    (id) => {
      expect(isValidServiceId(id)).toBe(false);
    },
  );
});

describe('createServiceIdGenerator', () => {
  it('encodes tick, slot and sequence in ten base36 characters', () => {
    const clock = fixedClock(1_000_000_010);
    const generator = createServiceIdGenerator({ slot: 37, notBeforeMs: 0, now: clock.now });
    // tick 100000001 mod 36^5 = 39533825 = "NJCHT"; slot 37 = "11"; sequence 0, 1
    expect(generator.next()).toBe('NJCHT11000');
    expect(generator.next()).toBe('NJCHT11001');
    clock.ms += 10;
    expect(generator.next()).toBe('NJCHU11000');
  });

  it('always issues valid ServiceIDs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SERVICE_ID_SLOTS - 1 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        (slot, ms) => {
          const id = createServiceIdGenerator({ slot, notBeforeMs: -1, now: () => ms }).next();
          expect(id).toMatch(/^[0-9A-Z]{10}$/);
          expect(isValidServiceId(id)).toBe(true);
        },
      ),
    );
  });

  it('refuses before the handover wait is over, then issues', () => {
    const clock = fixedClock(START);
    const notBeforeMs = serviceIdHandoverNotBefore(START, 500);
    const generator = createServiceIdGenerator({ slot: 1, notBeforeMs, now: clock.now });
    expect(generator.readyAtMs).toBe(START + 1010);
    expect(thrownCode(() => generator.next())).toBe('SERVICE_ID_NOT_READY');
    clock.ms = START + 1009;
    expect(thrownCode(() => generator.next())).toBe('SERVICE_ID_NOT_READY');
    clock.ms = START + 1010;
    expect(isValidServiceId(generator.next())).toBe(true);
  });

  it('keeps issuing increasing ids when the clock steps backwards, and never repeats', () => {
    const clock = fixedClock(START + 5000);
    const generator = createServiceIdGenerator({ slot: 3, notBeforeMs: 0, now: clock.now });
    const ids = [generator.next()];
    clock.ms = START; // an NTP step back by 5 s
    for (let i = 0; i < 100; i += 1) ids.push(generator.next());
    expect(new Set(ids).size).toBe(101);
    expect([...ids].sort()).toEqual(ids);
  });

  it('throws SERVICE_ID_EXHAUSTED after 46,656 ids in one tick instead of repeating', () => {
    const clock = fixedClock(START);
    const generator = createServiceIdGenerator({ slot: 0, notBeforeMs: 0, now: clock.now });
    const ids = new Set<string>();
    for (let i = 0; i < SERVICE_ID_PER_TICK; i += 1) ids.add(generator.next());
    expect(ids.size).toBe(46_656);
    expect(thrownCode(() => generator.next())).toBe('SERVICE_ID_EXHAUSTED');
    clock.ms += 10;
    expect(ids.has(generator.next())).toBe(false);
  });

  it('refuses once its lease has run out, until renewed', () => {
    const clock = fixedClock(START);
    const generator = createServiceIdGenerator({
      slot: 2,
      notBeforeMs: 0,
      leaseExpiresAtMs: START + 1000,
      now: clock.now,
    });
    expect(isValidServiceId(generator.next())).toBe(true);
    clock.ms = START + 1000;
    expect(thrownCode(() => generator.next())).toBe('SERVICE_ID_LEASE_EXPIRED');
    generator.renewLease(START + 2000);
    expect(isValidServiceId(generator.next())).toBe(true);
  });

  it.each([
    [{ slot: -1, notBeforeMs: 0 }],
    [{ slot: SERVICE_ID_SLOTS, notBeforeMs: 0 }],
    [{ slot: 1.5, notBeforeMs: 0 }],
    [{ slot: 0, notBeforeMs: Number.NaN }],
    [{ slot: 0, notBeforeMs: 0, leaseExpiresAtMs: Number.NaN }],
  ])('refuses bad options %j', (options) => {
    expect(thrownCode(() => createServiceIdGenerator(options))).toBe('INVALID_ARGUMENT');
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('refuses a clock reading of %s', (ms) => {
    const generator = createServiceIdGenerator({ slot: 0, notBeforeMs: -100, now: () => ms });
    expect(thrownCode(() => generator.next())).toBe('INVALID_ARGUMENT');
  });

  it('repeats an id only after the 7-day wrap, far outside the 48 h window', () => {
    expect(SERVICE_ID_WRAP_MS).toBe(604_661_760);
    expect(SERVICE_ID_WRAP_MS).toBeGreaterThan(SERVICE_ID_UNIQUE_WINDOW_MS + 2 * 59 * HOUR);
    expect(SERVICE_ID_MAX_TOLERATED_SKEW_MS).toBeGreaterThan(59 * HOUR);
    const clock = fixedClock(START);
    const generator = createServiceIdGenerator({ slot: 5, notBeforeMs: 0, now: clock.now });
    const first = generator.next();
    clock.ms = START + SERVICE_ID_UNIQUE_WINDOW_MS;
    expect(generator.next()).not.toBe(first);
    clock.ms = START + SERVICE_ID_WRAP_MS;
    expect(generator.next()).toBe(first);
  });
});

describe('handover between replicas on skewed clocks', () => {
  const maxSkewMs = 1000;

  /** A holds the slot on a clock 1 s fast and issues every 5 ms; B takes over on a clock 1 s slow. */
  function handover(waitForSkew: boolean): string[] {
    let trueMs = START;
    const fast = () => trueMs + maxSkewMs;
    const slow = () => trueMs - maxSkewMs;
    const a = createServiceIdGenerator({ slot: 9, notBeforeMs: 0, now: fast });
    const ids: string[] = [];
    for (; trueMs < START + 3000; trueMs += 5) ids.push(a.next());
    const notBeforeMs = waitForSkew ? serviceIdHandoverNotBefore(slow(), maxSkewMs) : slow();
    const b = createServiceIdGenerator({ slot: 9, notBeforeMs, now: slow });
    for (const stop = trueMs + 6000; trueMs < stop; trueMs += 5) {
      if (slow() >= b.readyAtMs) ids.push(b.next());
    }
    return ids;
  }

  it('never repeats when the new holder waits 2 x max skew', () => {
    const ids = handover(true);
    expect(ids.length).toBeGreaterThan(1000);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('would repeat without the wait (the rule is needed, not decoration)', () => {
    const ids = handover(false);
    expect(new Set(ids).size).toBeLessThan(ids.length);
  });
});

/**
 * 8 simulated days (past the 7-day wrap) with 4 replica slots moving among 6 hosts. Each host clock is off by up to
 * ±maxSkew and steps (also backwards) at random. Replicas crash (lease expires by TTL, and the crashed process may
 * keep trying to issue as a zombie until its own lease check stops it), shut down cleanly (lease released), and
 * restart on the same or another host. Every issued id is recorded with the true time; an id may only repeat more
 * than 48 h later.
 */
describe('simulated replicas over 8 days', () => {
  const maxSkewMs = 2000;
  const leaseTtlMs = 10_000;
  const renewEveryMs = 3000;

  interface Holder {
    host: number;
    generator: ServiceIdGenerator;
    renewedAtTrue: number;
    lastRenewalHostMs: number;
    zombieUntilTrue?: number;
  }

  function simulate(seed: number) {
    const random = prng(seed);
    const skews = Array.from({ length: 6 }, () => (random() * 2 - 1) * maxSkewMs);
    let trueMs = START;
    const read = (host: number) => {
      if (random() < 0.001) skews[host] = (random() * 2 - 1) * maxSkewMs;
      return Math.round(trueMs + skews[host]);
    };
    const acquire = (slot: number, host: number): Holder => {
      const clockAfterAcquire = read(host);
      return {
        host,
        renewedAtTrue: trueMs,
        lastRenewalHostMs: clockAfterAcquire,
        generator: createServiceIdGenerator({
          slot,
          notBeforeMs: serviceIdHandoverNotBefore(clockAfterAcquire, maxSkewMs),
          leaseExpiresAtMs: clockAfterAcquire + leaseTtlMs,
          now: () => read(host),
        }),
      };
    };

    const slots: (Holder | undefined)[] = [0, 1, 2, 3].map((slot) => acquire(slot, slot));
    const freeAtTrue: number[] = [0, 0, 0, 0];
    const zombies: Holder[] = [];
    const seen = new Map<string, number[]>();
    const refusals = {
      SERVICE_ID_NOT_READY: 0,
      SERVICE_ID_LEASE_EXPIRED: 0,
      SERVICE_ID_EXHAUSTED: 0,
    };
    let issued = 0;

    const issue = (holder: Holder) => {
      try {
        const id = holder.generator.next();
        issued += 1;
        const times = seen.get(id);
        if (times) times.push(trueMs);
        else seen.set(id, [trueMs]);
      } catch (error) {
        if (!(error instanceof AdyenProtocolError) || !(error.code in refusals)) throw error;
        refusals[error.code as keyof typeof refusals] += 1;
      }
    };

    while (trueMs < START + 8 * 24 * HOUR) {
      trueMs += random() < 0.0015 ? Math.floor(random() * 5 * HOUR) : Math.floor(random() * 12);
      for (let slot = 0; slot < slots.length; slot += 1) {
        const holder = slots[slot];
        if (holder === undefined) {
          if (trueMs >= freeAtTrue[slot])
            slots[slot] = acquire(slot, Math.floor(random() * skews.length));
          continue;
        }
        if (trueMs >= holder.renewedAtTrue + leaseTtlMs) {
          // lost the lease (a long pause): the KV server frees the slot; the process runs on as a zombie
          slots[slot] = undefined;
          freeAtTrue[slot] = holder.renewedAtTrue + leaseTtlMs;
          holder.zombieUntilTrue = trueMs + 2 * maxSkewMs + 1000;
          zombies.push(holder);
          continue;
        }
        if (trueMs - holder.renewedAtTrue >= renewEveryMs) {
          holder.renewedAtTrue = trueMs;
          holder.lastRenewalHostMs = read(holder.host);
          holder.generator.renewLease(holder.lastRenewalHostMs + leaseTtlMs);
        }
        const event = random();
        if (event < 0.0003) {
          // crash: the lease lapses by TTL; the dead process may still run a little as a zombie
          slots[slot] = undefined;
          freeAtTrue[slot] = holder.renewedAtTrue + leaseTtlMs;
          holder.zombieUntilTrue = freeAtTrue[slot] + 2 * maxSkewMs + 1000;
          zombies.push(holder);
        } else if (event < 0.0006) {
          // clean shutdown or restart: stop issuing, then release the lease
          slots[slot] = undefined;
          freeAtTrue[slot] = trueMs;
        } else if (event < 0.3) {
          const burst = random() < 0.02 ? 1 + Math.floor(random() * 300) : 1;
          for (let i = 0; i < burst; i += 1) issue(holder);
        }
      }
      for (let i = zombies.length - 1; i >= 0; i -= 1) {
        if (trueMs > (zombies[i].zombieUntilTrue ?? 0)) zombies.splice(i, 1);
        else if (random() < 0.3) issue(zombies[i]);
      }
    }

    let closestRepeatMs = Number.POSITIVE_INFINITY;
    for (const times of seen.values()) {
      for (let i = 1; i < times.length; i += 1)
        closestRepeatMs = Math.min(closestRepeatMs, times[i] - times[i - 1]);
    }
    return { issued, distinct: seen.size, refusals, closestRepeatMs };
  }

  it.each([1, 2, 3])('seed %i: no ServiceID repeats within 48 h', (seed) => {
    const result = simulate(seed);
    expect(result.issued).toBeGreaterThan(40_000);
    // the handover wait and the zombie lease check were both exercised
    expect(result.refusals.SERVICE_ID_NOT_READY).toBeGreaterThan(0);
    expect(result.refusals.SERVICE_ID_LEASE_EXPIRED).toBeGreaterThan(0);
    expect(result.closestRepeatMs).toBeGreaterThan(SERVICE_ID_UNIQUE_WINDOW_MS);
  });
});
