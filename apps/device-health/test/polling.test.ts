import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnTypeScript, waitFor, type ChildService } from '@tillbus/testing';
import { Kvm } from '@nats-io/kv';
import { kvJson } from '@tillbus/messaging';
import { claimKey, slotOffset } from '../src/polling/schedule';
import { BUCKETS } from '../src/config';
import { metric, scrape, startStack, type Stack } from './harness';

/**
 * The fleet-polling guarantee, end to end: 3 replicas as real processes share 200 simulated Antom terminals; one
 * is killed with SIGKILL mid-run. From the diagnoses the simulator actually received, every (terminal, interval)
 * must have been diagnosed exactly once: no duplicate anywhere, and no gap once the takeover bound (one interval
 * after the kill) has passed.
 */
const TERMINALS = 200;
const INTERVAL_MS = 3000;
const MAIN = resolve(__dirname, '../src/main.ts');

let stack: Stack;
const replicas: { name: string; child: ChildService; opsPort: number }[] = [];

beforeAll(async () => {
  stack = await startStack({ antomTerminals: TERMINALS, adyen: false, record: true });
}, 90_000);

afterAll(async () => {
  for (const { child } of replicas) {
    child.kill('SIGKILL');
    await child.exited;
  }
  await stack?.close();
});

describe('fleet polling across replicas', () => {
  it('diagnoses every terminal once per interval: no duplicate, no gap after a replica dies', async () => {
    const seed = join(stack.dir, 'terminals.json');
    const ids = Array.from(
      { length: TERMINALS },
      (_, i) => `ANTOMSIM${String(i + 1).padStart(6, '0')}`,
    );
    writeFileSync(
      seed,
      JSON.stringify({
        terminals: ids.map((serial, i) => ({
          terminalId: `antom-${serial}`,
          vendor: 'antom',
          vendorId: serial,
          storeId: `store-${i % 7}`,
          connection: {
            kind: 'antom',
            baseUrl: stack.antom.url,
            privateKeyRef: stack.refs.posPrivateKey,
            terminalPublicKeyRef: stack.refs.terminalPublicKey,
          },
        })),
      }),
    );
    for (const name of ['r1', 'r2', 'r3']) {
      const opsPort = await freePort();
      const child = spawnTypeScript(MAIN, {
        ...stack.env({
          POLL_ENABLED: 'true',
          POLL_INTERVAL_MS: String(INTERVAL_MS),
          POLL_TICK_MS: '50',
          DIAGNOSIS_TIMEOUT_MS: '1000',
          TERMINALS_FILE: seed,
          REPLICA_ID: name,
          OPS_PORT: String(opsPort),
          LOG_LEVEL: 'info',
        }),
      });
      replicas.push({ name, child, opsPort });
    }
    await Promise.all(replicas.map((r) => r.child.waitForOutput(/"polling the fleet"/, 90_000)));
    const allUp = Date.now();

    // Three intervals with all three, then SIGKILL one in the middle of an interval.
    await sleep(3.5 * INTERVAL_MS);
    const victim = replicas[1];
    const wonBeforeKill = metric(
      await scrape(victim.opsPort),
      'tillbus_device_health_poll_claims_total',
      {
        result: 'won',
      },
    );
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.child.exited;
    // Who held the claims of the slots that were due around the kill (the bucket forgets them after 2 intervals).
    const claims = await new Kvm(stack.client).open(BUCKETS.claims);
    const holders = new Map<string, string>();
    for (const id of ids) {
      const offset = slotOffset(`antom-${id}`, INTERVAL_MS);
      const k = Math.floor((killedAt - offset) / INTERVAL_MS);
      for (const slot of [k - 1, k]) {
        const claim = kvJson.decode<{ replica: string }>(
          await claims.get(claimKey(INTERVAL_MS, `antom-${id}`, slot)),
        );
        if (claim) holders.set(`${id}/${slot}`, claim.replica);
      }
    }
    await sleep(4 * INTERVAL_MS);
    const endedAt = Date.now();

    // Attribute each request to the slot it served: slot k of terminal T is due at k*I + offset(T).
    const records = await stack.antom.records();
    const offsets = new Map(ids.map((id) => [id, slotOffset(`antom-${id}`, INTERVAL_MS)]));
    const served = new Map<string, number>();
    for (const { id, at } of records) {
      const k = Math.round((at - offsets.get(id)!) / INTERVAL_MS);
      const key = `${id}/${k}`;
      served.set(key, (served.get(key) ?? 0) + 1);
    }
    const from = allUp + INTERVAL_MS;
    const to = endedAt - INTERVAL_MS;
    const lostWithVictim: string[] = [];
    const tally = {
      before: { slots: 0, duplicates: 0, gaps: 0 },
      killInterval: { slots: 0, duplicates: 0, gaps: 0 },
      afterTakeover: { slots: 0, duplicates: 0, gaps: 0 },
    };
    for (const id of ids) {
      const offset = offsets.get(id)!;
      for (let k = Math.ceil((from - offset) / INTERVAL_MS); k * INTERVAL_MS + offset <= to; k++) {
        const due = k * INTERVAL_MS + offset;
        // Slots due within an interval before the kill may have been claimed by the victim and still be in flight.
        const phase =
          due < killedAt - INTERVAL_MS
            ? tally.before
            : due < killedAt + INTERVAL_MS
              ? tally.killInterval
              : tally.afterTakeover;
        const count = served.get(`${id}/${k}`) ?? 0;
        phase.slots += 1;
        if (count === 0) {
          phase.gaps += 1;
          if (phase === tally.killInterval)
            lostWithVictim.push(holders.get(`${id}/${k}`) ?? 'nobody');
          else
            console.log(
              `gap ${id}/${k} due ${due - allUp} ms after all up, kill at ${killedAt - allUp}`,
            );
        }
        if (count > 1) phase.duplicates += count - 1;
      }
    }
    const survivors = replicas.filter((r) => r !== victim);
    const won = await Promise.all(
      survivors.map(async (r) =>
        metric(await scrape(r.opsPort), 'tillbus_device_health_poll_claims_total', {
          result: 'won',
        }),
      ),
    );
    console.log(
      `fleet polling: ${TERMINALS} terminals, 3 replicas, interval ${INTERVAL_MS} ms, ${records.length} diagnoses received; ` +
        `claims won r1=${won[0]} r2=${wonBeforeKill} (before SIGKILL) r3=${won[1]}; ${JSON.stringify(tally)}; ` +
        `kill-interval gaps were claimed by: ${JSON.stringify(lostWithVictim)}`,
    );

    expect(tally.afterTakeover.slots).toBeGreaterThanOrEqual(2 * TERMINALS);
    expect(tally.before.slots).toBeGreaterThanOrEqual(TERMINALS);
    expect(
      tally.before.duplicates + tally.killInterval.duplicates + tally.afterTakeover.duplicates,
    ).toBe(0);
    expect(tally.before.gaps).toBe(0);
    expect(tally.afterTakeover.gaps).toBe(0);
    // A slot can only be lost with the replica that claimed it and died before its request left.
    for (const holder of lostWithVictim) expect(holder).toBe(victim.name);
    // The work is shared: every replica won claims.
    expect(wonBeforeKill).toBeGreaterThan(0);
    for (const count of won) expect(count).toBeGreaterThan(0);

    // And the survivors answer readiness for every terminal from the shared cache.
    await waitFor(
      async () => {
        const values = await scrape(survivors[0].opsPort);
        return (
          metric(values, 'tillbus_device_health_terminals', {
            vendor: 'antom',
            status: 'READY',
          }) === TERMINALS
        );
      },
      { what: 'every terminal READY in the fleet gauge' },
    );
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
