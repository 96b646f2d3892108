import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvJson } from '@tillbus/messaging';
import { isValidServiceId } from '@tillbus/protocols-adyen';
import { waitFor } from '@tillbus/testing';
import { ServiceIdAllocator } from '../src/vendor/service-ids';
import { BUCKETS } from '../src/config';
import { startReplica, startStack, type Stack } from './harness';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ antomTerminals: 1, adyen: false });
}, 90_000);
afterAll(() => stack?.close());

describe('Adyen ServiceID slots across replicas', () => {
  it('gives each replica its own slot, issues unique ids, takes another slot when one is lost, frees it on shutdown', async () => {
    // A lease long enough that a renewal (every third of it) delayed by a loaded CI machine still lands in time.
    const env = { ADYEN_SERVICE_ID_LEASE_MS: '3000', ADYEN_MAX_CLOCK_SKEW_MS: '10' };
    const a = await startReplica(stack, { ...env, REPLICA_ID: 'a' });
    const b = await startReplica(stack, { ...env, REPLICA_ID: 'b' });
    try {
      const allocators = [a, b].map((r) => r.app.get(ServiceIdAllocator));
      const slots = allocators.map((x) => x.slot);
      expect(slots[0]).toBeTypeOf('number');
      expect(slots[1]).toBeTypeOf('number');
      expect(slots[0]).not.toBe(slots[1]);
      const kv = await new Kvm(stack.client).open(BUCKETS.serviceIdSlots);
      expect(kvJson.decode<{ replica: string }>(await kv.get(`slot-${slots[0]}`))?.replica).toBe(
        'a',
      );

      const ids = await Promise.all(
        Array.from({ length: 2000 }, (_, i) => allocators[i % 2].next()),
      );
      expect(ids.every(isValidServiceId)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);

      // Leases outlive their TTL because they are renewed.
      await new Promise((r) => setTimeout(r, 4000));
      expect(allocators[0].slot).toBe(slots[0]);
      await allocators[0].next();

      // Someone else writes the slot (as after an expired lease): the next renewal notices and takes another.
      await kv.put(`slot-${slots[0]}`, kvJson.encode({ replica: 'intruder' }));
      await waitFor(() => allocators[0].slot !== slots[0], { what: 'a new slot after losing one' });
      const after = await allocators[0].next();
      expect(ids).not.toContain(after);
      expect(allocators[0].slot).not.toBe(slots[1]);

      const held = allocators[1].slot!;
      await b.close();
      expect(kvJson.decode(await kv.get(`slot-${held}`))).toBeUndefined();
    } finally {
      await a.close();
      await b.close().catch(() => undefined);
    }
  });
});
