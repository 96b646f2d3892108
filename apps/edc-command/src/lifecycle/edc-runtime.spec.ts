import type { NatsConnectionManager } from '@tillbus/messaging';
import type { JsonLogger, OpsServer } from '@tillbus/observability';
import { describe, expect, it } from 'vitest';
import type { BridgeInbox } from '../commands/bridge-inbox';
import type { EventPublisher } from '../commands/event-publisher';
import type { EdcCommandConfig } from '../config';
import type { CommandTakeover } from '../ownership/command-takeover';
import type { OwnerLeases } from '../ownership/owner-leases';
import type { CancelDeadlines } from '../recovery/cancel-deadlines';
import type { CommandTimers } from '../recovery/command-timers';
import type { InDoubtIndex } from '../store/in-doubt-index';
import type { BridgePresence } from '../vendor/presence';
import type { ConnectionHold } from './connection-hold';
import { EdcRuntime } from './edc-runtime';
import { RunState } from './run-state';

/** What a put answers while its bucket's stream has no leader yet (a cluster still electing). */
const noLeaderYet = () =>
  Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });

/** The runtime with every collaborator a stub; `failFirst` makes those calls fail that many times first. */
function harness(failFirst: { renew?: number; scan?: number }) {
  const run = new RunState();
  const reports: string[] = [];
  const lines: string[] = [];
  const calls = { renew: 0, scan: 0 };
  const failing = (name: 'renew' | 'scan') => async () => {
    calls[name]++;
    if (calls[name] <= (failFirst[name] ?? 0)) throw noLeaderYet();
  };
  const runtime = new EdcRuntime(
    {
      EDC_OWNER_LEASE_MS: 60_000,
      EDC_SWEEP_INTERVAL_MS: 60_000,
      EDC_FULL_SCAN_INTERVAL_MS: 0,
    } as EdcCommandConfig,
    { connection: {} } as unknown as NatsConnectionManager,
    run,
    {
      start: async () => undefined,
      renew: failing('renew'),
      stop: () => undefined,
    } as unknown as OwnerLeases,
    { start: async () => undefined, stop: () => undefined } as unknown as InDoubtIndex,
    {
      start: () => undefined,
      onOnline: () => undefined,
      stop: () => undefined,
    } as unknown as BridgePresence,
    { scan: failing('scan') } as unknown as CommandTakeover,
    { start: async () => undefined, stop: async () => undefined } as unknown as BridgeInbox,
    { ownedCount: () => 0, stopAll: () => undefined } as unknown as CommandTimers,
    { stopAll: () => undefined } as unknown as CancelDeadlines,
    { watch: () => undefined, held: false } as unknown as ConnectionHold,
    {} as EventPublisher,
    {
      addReadinessCheck: () => undefined,
      reportStartup: (detail: string) => reports.push(detail),
    } as unknown as OpsServer,
    { event: (_level: string, msg: string) => lines.push(msg) } as unknown as JsonLogger,
  );
  return { runtime, run, reports, lines, calls };
}

describe('EdcRuntime boot', () => {
  // A cold start against a cluster still electing: the lease put answered "no responders" (jetstream is not
  // enabled) after provisioning verified, and the replica exited 1 (cluster tier, 2 of 5 runs).
  it('waits for the owner lease and the resume scan while JetStream cannot serve them, and never throws', async () => {
    const { runtime, run, reports, lines, calls } = harness({ renew: 2, scan: 1 });
    await expect(runtime.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(calls).toEqual({ renew: 3, scan: 2 });
    expect(run.ready).toBe(true);
    expect(reports).toContain(
      'renew owner lease: attempt 1 failed (jetstream is not enabled); retrying in 250 ms',
    );
    expect(reports).toContain(
      'resume commands: attempt 1 failed (jetstream is not enabled); retrying in 250 ms',
    );
    expect(lines).toContain('startup step done: renew owner lease');
    // clears the background rounds it started (the stubs have nothing to hand over)
    await runtime.beforeApplicationShutdown().catch(() => undefined);
  });
});
