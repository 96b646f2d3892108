import type { JetStreamManager } from '@nats-io/jetstream';
import type { MessagingOptions, NatsConnectionManager } from '@tillbus/messaging';
import type { JsonLogger, OpsServer } from '@tillbus/observability';
import { describe, expect, it } from 'vitest';
import { JetStreamSetup } from './messaging.module';

/** Verify mode against a JetStream that answers "temporarily unavailable" `failures` times, then has the stream. */
function harness(failures: number) {
  const lines: { level: string; msg: string }[] = [];
  const reports: string[] = [];
  let infos = 0;
  const jsm = {
    streams: {
      info: async () => {
        if (++infos <= failures) throw new Error('JetStream system temporarily unavailable');
        return { config: {} };
      },
    },
  } as unknown as JetStreamManager;
  const setup = new JetStreamSetup(
    {
      provisioningMode: 'verify',
      provisioning: { streams: [{ name: 'TILLBUS_EDC' }], buckets: [], consumers: [] },
    } as unknown as MessagingOptions,
    {
      connect: async () => undefined,
      jetstreamManager: async () => jsm,
      checkJetStream: async () => ({ ok: true }),
    } as unknown as NatsConnectionManager,
    {
      addReadinessCheck: () => undefined,
      reportStartup: (detail: string) => reports.push(detail),
      start: async () => undefined,
    } as unknown as OpsServer,
    {
      event: (level: string, msg: string) => lines.push({ level, msg }),
    } as unknown as JsonLogger,
  );
  return { setup, lines, reports, infos: () => infos };
}

describe('JetStreamSetup in verify mode', () => {
  // A cold start: a cluster still electing cannot say whether a stream exists. That was logged as "not
  // provisioned" and checked again with the provisioning Job's backoff (to 30 s), so the service was ready up to 8 s
  // after quorum (cluster tier).
  it('waits out a JetStream that cannot answer as a startup step, not as missing provisioning', async () => {
    const { setup, lines, reports, infos } = harness(3);
    await setup.onModuleInit();
    expect(infos()).toBe(4);
    expect(lines.filter((line) => line.msg.includes('not provisioned'))).toEqual([]);
    expect(reports).toContain(
      'verify provisioning: attempt 3 failed (stream TILLBUS_EDC (cannot check: JetStream system temporarily ' +
        'unavailable)); retrying in 500 ms',
    );
    expect(lines.at(-1)).toEqual({ level: 'info', msg: 'startup step done: verify provisioning' });
  });
});
