import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@tillbus/contracts';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { COMMANDS } from '../src/commands';

// The services are played by plain responders on a real nats-server: what is under test is the CLI.
let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc.close();
  await nats.dispose();
});

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const started = Date.now();
  const code = await runCli(argv, COMMANDS, {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: { NATS_URL: nats.url },
  });
  return { code, stdout: out.join(''), stderr: err.join(''), ms: Date.now() - started };
}

describe('issue 16 §4: the operator CLI', () => {
  it('terminals diagnose honours --timeout (it answered after 3 s with exit 0)', async () => {
    const slow = nc.subscribe(SUBJECTS.deviceHealth.diagnose, {
      queue: 'device-health',
      callback: (_error, msg) => {
        setTimeout(() => msg.respond(JSON.stringify({ terminalId: 'antom-1' })), 3000);
      },
    });
    await nc.flush();
    try {
      const run = await cli(['terminals', 'diagnose', 'antom-1', '--timeout', '100']);
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/^error \[TIMEOUT\]: .*within 100 ms/m);
      expect(run.ms).toBeLessThan(2500);
    } finally {
      slow.unsubscribe();
    }
  });

  it('easycard register registers each reader over the bus, with the merchant', async () => {
    const received: unknown[] = [];
    const service = nc.subscribe(SUBJECTS.easycard.readersRegister, {
      queue: 'easycard-session',
      callback: (_error, msg) => {
        const request = msg.json<{ deviceId: string; mchId?: string }>();
        received.push(request);
        msg.respond(
          JSON.stringify({
            deviceId: request.deviceId,
            mchId: request.mchId,
            state: 'unsigned',
            source: 'bus',
            registeredAt: '2026-12-07T05:00:00.000Z',
          }),
        );
      },
    });
    await nc.flush();
    try {
      const run = await cli([
        'easycard',
        'register',
        '01300001,01300002',
        '--merchant',
        'ACCOUNT001',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(received).toEqual([
        { deviceId: '01300001', mchId: 'ACCOUNT001' },
        { deviceId: '01300002', mchId: 'ACCOUNT001' },
      ]);
      expect(run.stdout).toMatch(/^01300002 +ACCOUNT001 +unsigned +bus/m);
      expect(run.stdout).toContain('2 reader(s) registered');
      const bad = await cli(['easycard', 'register', '0130 0001']);
      expect(bad.code).toBe(2);
    } finally {
      service.unsubscribe();
    }
  });
});
