import { connect, type NatsConnection } from '@nats-io/transport-node';
import { kiccBridgeSubject } from '@tillbus/protocols-kicc';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendToBridge, type OutgoingCommand } from '../src/vendor/bridge-link';

/**
 * sendToBridge against a real nats-server and a scripted bridge that answers as a newer bridge would: acks with
 * fields and statuses this version does not know (the tolerant-reader rule: read, reported, never a crash).
 */
let nats: TestNatsServer;
let nc: NatsConnection;
const DEVICE = 'newer-bridge-device';

const command: OutgoingCommand = {
  deviceId: DEVICE,
  requestId: 'req-tolerant-1',
  commandName: 'GetLastTransaction',
  commandRequestParams: {},
  notAfter: Date.now() + 60_000,
};

/** A bridge that answers every command with this ack body (and a top-level field no schema declares). */
function bridgeAnswering(body: Record<string, unknown>) {
  const sub = nc.subscribe(kiccBridgeSubject('command', DEVICE), {
    max: 1,
    callback: (_error, msg) => {
      const sent = JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
      msg.respond(
        JSON.stringify({
          v: 1,
          type: 'ack',
          deviceId: sent.deviceId,
          requestId: sent.requestId,
          commandName: sent.commandName,
          sentAt: Date.now(),
          bridgeBuild: '2.0.0-beta',
          body,
        }),
      );
    },
  });
  return sub;
}

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
}, 60_000);

afterAll(async () => {
  await nc?.drain();
  await nats?.dispose();
});

describe('sendToBridge reads acks from a newer bridge', () => {
  it('uses an ack with fields it does not know', async () => {
    bridgeAnswering({ status: 'accepted', queuePosition: 0 });
    expect(await sendToBridge(nc, command, Date.now(), 5_000)).toMatchObject({
      kind: 'ack',
      status: 'accepted',
    });
  });

  it('reports an ack status it does not know, so the command is resent rather than taken as refused', async () => {
    bridgeAnswering({ status: 'queued' });
    expect(await sendToBridge(nc, command, Date.now(), 5_000)).toEqual({
      kind: 'bad_ack',
      reason: 'unrecognised ack status queued',
    });
  });
});
