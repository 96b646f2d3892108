import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { BusRequestError, SUBJECTS, type TerminalHealth } from '@tillbus/contracts';
import { kvJson } from '@tillbus/messaging';
import { freePort, spawnTypeScript, waitFor, type ChildService } from '@tillbus/testing';
import { slotOffset } from '../src/polling/schedule';
import { BUCKETS } from '../src/config';
import { metric, scrape, startStack, type Stack } from './harness';

/**
 * device-health split per vendor purely by configuration, as the per-vendor overlay deploys it: two processes,
 * `DEVICE_HEALTH_VENDORS=antom` and `=adyen`, each with only its own vendor's keys under its SECRETS_DIR, against
 * one nats-server and both fleet simulators. Each vendor's terminals are polled by its own deployment only, every
 * one of them once per interval (no duplicate, no gap), and a client's diagnose works for both vendors whichever
 * replica takes it: the other vendor's terminal is forwarded to the deployment that holds its keys.
 */
const ANTOM = 30;
const ADYEN = 15;
const INTERVAL_MS = 3000;
const MAIN = resolve(__dirname, '../src/main.ts');

let stack: Stack;
const deployments: Record<
  'antom' | 'adyen',
  { name: string; child: ChildService; opsPort: number }
> = {} as never;
const antomIds = Array.from(
  { length: ANTOM },
  (_, i) => `ANTOMSIM${String(i + 1).padStart(6, '0')}`,
);
const adyenIds = Array.from({ length: ADYEN }, (_, i) => `V400m-${String(i + 1).padStart(9, '0')}`);
const antomTerminal = (serial: string) => `antom-${serial}`;
const adyenTerminal = (poiId: string) => `adyen-${poiId}`;

beforeAll(async () => {
  stack = await startStack({
    antomTerminals: ANTOM,
    adyenTerminals: ADYEN,
    record: true,
  });
}, 120_000);

afterAll(async () => {
  for (const { child } of Object.values(deployments)) {
    child.kill('SIGKILL');
    await child.exited;
  }
  await stack?.close();
});

/** Each deployment's key Secret, mounted as its SECRETS_DIR: the registry holds bare names only. */
function mountSecrets(): { antom: string; adyen: string } {
  const antom = join(stack.dir, 'secrets-antom');
  const adyen = join(stack.dir, 'secrets-adyen');
  mkdirSync(antom);
  mkdirSync(adyen);
  copyFileSync(join(stack.antom.keysDir, 'pos-private.pem'), join(antom, 'antom-pos-private'));
  copyFileSync(
    join(stack.antom.keysDir, 'terminal-public.pem'),
    join(antom, 'antom-terminal-public'),
  );
  copyFileSync(join(stack.adyen!.keysDir, 'passphrase'), join(adyen, 'adyen-passphrase'));
  return { antom, adyen };
}

function writeSeed(): string {
  const seed = join(stack.dir, 'terminals.json');
  const terminals = [
    ...antomIds.map((serial, i) => ({
      terminalId: antomTerminal(serial),
      vendor: 'antom',
      vendorId: serial,
      storeId: `store-${i % 3}`,
      connection: {
        kind: 'antom',
        baseUrl: stack.antom.url,
        privateKeyRef: 'antom-pos-private',
        terminalPublicKeyRef: 'antom-terminal-public',
      },
    })),
    ...adyenIds.map((poiId, i) => ({
      terminalId: adyenTerminal(poiId),
      vendor: 'adyen',
      vendorId: poiId,
      storeId: `store-${i % 3}`,
      connection: {
        kind: 'adyen-local',
        url: stack.adyen!.nexoUrl,
        keyIdentifier: 'tillbussim',
        passphraseRef: 'adyen-passphrase',
        keyVersion: 1,
      },
    })),
  ];
  writeFileSync(seed, JSON.stringify({ terminals }));
  return seed;
}

/** Every (terminal, interval) slot due in [from, to]: how many diagnoses the simulator saw for it. */
function tally(
  ids: string[],
  terminalId: (id: string) => string,
  records: { id: string; at: number; hostDiagnosis?: boolean }[],
  from: number,
  to: number,
) {
  const offsets = new Map(ids.map((id) => [id, slotOffset(terminalId(id), INTERVAL_MS)]));
  const served = new Map<string, number>();
  for (const { id, at, hostDiagnosis } of records) {
    // An Adyen step 2 (HostDiagnosisFlag=true) belongs to the same diagnosis as its step 1.
    if (hostDiagnosis || !offsets.has(id)) continue;
    const k = Math.round((at - offsets.get(id)!) / INTERVAL_MS);
    served.set(`${id}/${k}`, (served.get(`${id}/${k}`) ?? 0) + 1);
  }
  const result = { slots: 0, duplicates: 0, gaps: 0 };
  for (const id of ids) {
    const offset = offsets.get(id)!;
    for (let k = Math.ceil((from - offset) / INTERVAL_MS); k * INTERVAL_MS + offset <= to; k++) {
      const count = served.get(`${id}/${k}`) ?? 0;
      result.slots += 1;
      if (count === 0) result.gaps += 1;
      if (count > 1) result.duplicates += count - 1;
    }
  }
  return result;
}

const refused = async (subject: string, payload: unknown) => {
  try {
    await stack.request(subject, payload);
  } catch (error) {
    return error as BusRequestError;
  }
  throw new Error(`${subject} answered ${JSON.stringify(payload)}`);
};

describe('device-health split per vendor by DEVICE_HEALTH_VENDORS', () => {
  it('polls each vendor from its own deployment only, and diagnoses both vendors for any client', async () => {
    const secrets = mountSecrets();
    const seed = writeSeed();
    for (const vendor of ['antom', 'adyen'] as const) {
      const opsPort = await freePort();
      const name = `device-health-${vendor}`;
      const child = spawnTypeScript(MAIN, {
        ...stack.env({
          DEVICE_HEALTH_VENDORS: vendor,
          SECRETS_DIR: secrets[vendor],
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
      deployments[vendor] = { name, child, opsPort };
    }
    const { antom, adyen } = deployments;
    await Promise.all(
      [antom, adyen].map((d) => d.child.waitForOutput(/"polling the fleet"/, 90_000)),
    );
    expect(antom.child.output()).toMatch(/"polling the fleet".*"vendors":\["antom"\]/);
    expect(adyen.child.output()).toMatch(/"polling the fleet".*"vendors":\["adyen"\]/);
    const allUp = Date.now();
    await sleep(4 * INTERVAL_MS);
    const endedAt = Date.now();

    // Every terminal of each vendor exactly once per interval (the simulators count what they received).
    const [antomRecords, adyenRecords] = await Promise.all([
      stack.antom.records(),
      stack.adyen!.records(),
    ]);
    const from = allUp + INTERVAL_MS;
    const to = endedAt - INTERVAL_MS;
    const antomTally = tally(antomIds, antomTerminal, antomRecords, from, to);
    const adyenTally = tally(adyenIds, adyenTerminal, adyenRecords, from, to);
    console.log(
      `per-vendor polling: antom ${JSON.stringify(antomTally)}, adyen ${JSON.stringify(adyenTally)}`,
    );
    expect(antomTally.slots).toBeGreaterThanOrEqual(2 * ANTOM);
    expect(adyenTally.slots).toBeGreaterThanOrEqual(2 * ADYEN);
    expect(antomTally).toMatchObject({ duplicates: 0, gaps: 0 });
    expect(adyenTally).toMatchObject({ duplicates: 0, gaps: 0 });

    // Claimed by the vendor's own deployment, every one (the bucket keeps the last two intervals).
    const claims = await new Kvm(stack.client).open(BUCKETS.claims);
    const claimedBy = { antom: new Set<string>(), adyen: new Set<string>() };
    for await (const key of await claims.keys()) {
      const terminalId = key.split('.')[1];
      const vendor = terminalId.startsWith('antom-') ? 'antom' : 'adyen';
      const claim = kvJson.decode<{ replica: string }>(await claims.get(key));
      if (claim) claimedBy[vendor].add(claim.replica);
    }
    expect([...claimedBy.antom]).toEqual(['device-health-antom']);
    expect([...claimedBy.adyen]).toEqual(['device-health-adyen']);
    // Only the Adyen deployment holds an Adyen ServiceID slot.
    const slots = await new Kvm(stack.client).open(BUCKETS.serviceIdSlots);
    const slotHolders = new Set<string>();
    for await (const key of await slots.keys()) {
      const lease = kvJson.decode<{ replica: string }>(await slots.get(key));
      if (lease) slotHolders.add(lease.replica);
    }
    expect([...slotHolders]).toEqual(['device-health-adyen']);

    // Each deployment reports only its own vendor's series; its fleet gauges count all of that vendor, READY
    // (its keys resolved: no CONFIG_ERROR), so max by (vendor, status) over both neither doubles nor mixes.
    for (const [vendor, other, count] of [
      ['antom', 'adyen', ANTOM],
      ['adyen', 'antom', ADYEN],
    ] as const) {
      const text = await (
        await fetch(`http://127.0.0.1:${deployments[vendor].opsPort}/metrics`)
      ).text();
      expect(text).not.toContain(`vendor="${other}"`);
      await waitFor(
        async () =>
          metric(await scrape(deployments[vendor].opsPort), 'tillbus_device_health_terminals', {
            vendor,
            status: 'READY',
          }) === count,
        { what: `every ${vendor} terminal READY in ${vendor}'s fleet gauge` },
      );
      const values = await scrape(deployments[vendor].opsPort);
      expect(metric(values, 'tillbus_device_health_terminals', { vendor })).toBe(count);
      expect(
        metric(values, 'tillbus_device_health_diagnoses_total', { vendor, trigger: 'poll' }),
      ).toBeGreaterThanOrEqual(2 * count);
      expect(metric(values, 'tillbus_device_health_polling_lag_seconds', { vendor })).toBeLessThan(
        2 * (INTERVAL_MS / 1000),
      );
    }

    // A client's diagnose, for both vendors' terminals: whichever replica the queue group picks, the terminal's
    // own deployment diagnoses it. Ask until each deployment has forwarded at least once.
    const forwarded = async (from: 'antom' | 'adyen', to: 'antom' | 'adyen') =>
      metric(await scrape(deployments[from].opsPort), 'tillbus_bus_requests_sent_total', {
        subject: `tillbus.device-health.diagnose.${to}`,
        code: 'OK',
      });
    const asked = { antom: 0, adyen: 0 };
    for (let round = 0; round < 40; round++) {
      if (
        round >= 3 &&
        (await forwarded('antom', 'adyen')) > 0 &&
        (await forwarded('adyen', 'antom')) > 0
      )
        break;
      for (const [vendor, terminalId] of [
        ['antom', antomTerminal(antomIds[round % ANTOM])],
        ['adyen', adyenTerminal(adyenIds[round % ADYEN])],
      ] as const) {
        const health = await stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, {
          terminalId,
        });
        expect(health).toMatchObject({ terminalId, vendor, status: 'READY', outcome: 'ok' });
        asked[vendor] += 1;
      }
    }
    expect(await forwarded('antom', 'adyen')).toBeGreaterThan(0);
    expect(await forwarded('adyen', 'antom')).toBeGreaterThan(0);
    for (const vendor of ['antom', 'adyen'] as const) {
      // Every on-demand diagnosis of a vendor's terminal was made by that vendor's deployment.
      expect(
        metric(await scrape(deployments[vendor].opsPort), 'tillbus_device_health_diagnoses_total', {
          vendor,
          trigger: 'request',
        }),
      ).toBe(asked[vendor]);
    }

    // The per-vendor subject never forwards again: the wrong vendor's terminal there is refused, typed.
    const misrouted = await refused(SUBJECTS.deviceHealth.diagnoseAntom, {
      terminalId: adyenTerminal(adyenIds[0]),
    });
    expect(misrouted.code).toBe('VENDOR_NOT_SERVED');
    expect(misrouted.message).toMatch(/serves antom only/);

    // With no replica serving Adyen, diagnose says so and names the deployment to run; Antom is unaffected.
    adyen.child.kill('SIGTERM');
    expect((await adyen.child.exited).code).toBe(0);
    const unserved = await refused(SUBJECTS.deviceHealth.diagnose, {
      terminalId: adyenTerminal(adyenIds[1]),
    });
    expect(unserved.code).toBe('VENDOR_NOT_SERVED');
    expect(unserved.message).toMatch(/no device-health replica serves adyen.*device-health-adyen/);
    expect(unserved.details).toEqual({
      terminalId: adyenTerminal(adyenIds[1]),
      vendor: 'adyen',
      servedBy: 'device-health-adyen',
    });
    expect(
      await stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, {
        terminalId: antomTerminal(antomIds[0]),
      }),
    ).toMatchObject({ status: 'READY' });
    // Readiness of an Adyen terminal is still answered from the shared cache by the Antom deployment.
    expect(
      await stack.request(SUBJECTS.deviceHealth.readiness, {
        terminalId: adyenTerminal(adyenIds[1]),
      }),
    ).toMatchObject({ vendor: 'adyen', status: 'READY' });
  }, 180_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
