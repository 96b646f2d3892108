import { startTestNatsCluster, type TestNatsCluster } from '@tillbus/testing';
import { afterAll, expect, it } from 'vitest';
import { cardLoad, finishCase, quorumBackAt, quorumServed } from './support/fault-case';
import { waitFor } from '@tillbus/testing';
import {
  provisionCluster,
  SERVICES,
  startClusterStack,
  untilRunning,
  type ClusterStack,
} from './support/stack';

/**
 * Cold start (issue 17): a site whose whole cluster went down comes back one node at a time, and the services
 * start while only one of three nodes runs — JetStream has no quorum and is still electing. They must wait, not
 * give up, and take the first card command at most 1 s after the cluster has its quorum.
 */
let cluster: TestNatsCluster | undefined;
let stack: ClusterStack | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the services wait against a cluster without quorum before the other nodes come. */
const ELECTING_MS = 8_000;

/**
 * What each service's /readyz says it waits for: alive (/healthz 200), not ready (503), the startup check naming the
 * step. Fails if the stack stopped (a service exited) or a service says it is ready without a quorum.
 */
async function bootSteps(stack: ClusterStack): Promise<Record<string, string>> {
  const steps: Record<string, string> = {};
  for (const service of SERVICES) {
    const seen = await waitFor(
      async () => {
        if (stack.stopped()) return { stopped: stack.whyStopped() };
        const health = await fetch(`${stack.ops(service)}/healthz`).catch(() => undefined);
        if (health?.status !== 200) return undefined;
        const ready = await fetch(`${stack.ops(service)}/readyz`);
        const body = (await ready.json()) as { checks: Record<string, { detail?: string }> };
        if (ready.status === 200) return { ready: true };
        const step = body.checks.startup?.detail;
        return step ? { step } : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${service} waiting on a startup step` },
    );
    if ('stopped' in seen) throw new Error(`the stack stopped: ${seen.stopped}`);
    if ('ready' in seen) throw new Error(`${service} says it is ready without a quorum`);
    steps[service] = seen.step;
  }
  return steps;
}

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

// Skipped (issue 17 stays open). Its first failure, the stack stopping before it ran, was edc-command and device-health
// exiting 1 on a JetStream write of their boot (3 of 5 runs): fixed. In the 12 runs since, no service exited and 4
// passed. In 5, Purchases the POS was told were accepted never became final: each had been refused (no bridge yet),
// its record deleted and its device freed, yet both read back later as they were before (record in phase sent; the
// device ran it 0 times); with every lane following such a command, nothing is accepted after quorum (2 of the 5).
// In 3 the first accept came late: 4.2 s (a boot write waiting out its 5 s timeout: fixed since), 2.6 s (a durable
// consumer elected 2 s after the streams), 1.9 s (submits unanswered for 2 s after quorum).
it.skip('services cold-started against a cluster still electing take the first command within 1 s of quorum (skipped: a refused command can come back accepted and never final, issue 17 open)', async () => {
  cluster = await startTestNatsCluster({ nodes: 3 });
  await cluster.metaLeader();
  // Provisioned once, as production is; then the whole cluster stops, its stores kept.
  await provisionCluster(cluster.urls);
  await Promise.all(cluster.servers.map((node) => node.stop()));
  const [first, ...others] = cluster.servers;
  await first.start();

  const startedAt = Date.now();
  stack = await startClusterStack(cluster.urls, { waitUntilRunning: false });
  // The POS sends from the start: nothing can be accepted before quorum, everything after must be.
  const { load, fromSeq } = await cardLoad(stack, 'cold-start', { fromSeq: 1 });
  console.log('[cluster] cold start: waiting on', await bootSteps(stack));
  await sleep(ELECTING_MS);
  expect(await quorumServed(stack.nc), 'one node of three has no quorum').toBe(false);
  console.log(
    `[cluster] cold start: still waiting ${ELECTING_MS / 1000} s later on`,
    await bootSteps(stack),
  );
  const othersAt = Date.now();
  await Promise.all(others.map((node) => node.start()));
  const quorumAt = await quorumBackAt(stack.nc, othersAt);
  const runningAt = await untilRunning(stack, 120_000);
  await finishCase(
    'cold start against a cluster still electing',
    stack,
    load,
    { faultAt: startedAt, quorumAt, fromSeq },
    stack.pids(),
    {
      'services started → other nodes started': `${((othersAt - startedAt) / 1000).toFixed(2)} s`,
      'other nodes started → quorum': `${((quorumAt - othersAt) / 1000).toFixed(2)} s`,
      'quorum → "tillbus is running"': `${((runningAt - quorumAt) / 1000).toFixed(2)} s`,
      'quorum back at (for the service logs)': new Date(quorumAt).toISOString(),
    },
  );
});
