import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { deadLetterSubject, STREAMS } from '@tillbus/contracts';
import { DURABLES, EDC_BRIDGE_STREAM, ShiftableClock } from '@tillbus/messaging';
import { waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRequestId, purchase, startOneReplicaStack, type OneReplicaStack } from './support';

/**
 * A bridge message for a command edc-command cannot find is never acknowledged and dropped: it is retried, parked
 * in the dead letters, and applied once the record can be read (issue "Partitions": no result is ever dropped).
 */
let stack: OneReplicaStack;
const clock = new ShiftableClock();

beforeAll(async () => {
  stack = await startOneReplicaStack(clock, 'pk', { bridges: 1, devices: 2 }, [0, 0], {
    EDC_PARKED_RETRY_MS: '1000',
  });
}, 120_000);

afterAll(() => stack?.close());

const counted = async (result: string) => {
  const line = (await stack.replica.metrics())
    .split('\n')
    .find((l) =>
      l.startsWith(`tillbus_edc_command_bridge_messages_total{type="event",result="${result}"}`),
    );
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('a bridge message whose command record cannot be found', () => {
  it('is parked in the dead letters instead of dropped, and applied once the record exists', async () => {
    const { sim, pos } = stack;
    const deviceId = sim.device(0, 1);
    const requestId = newRequestId('parked');
    const js = jetstream(pos.nc);
    // what a bridge sends while its command runs (docs/bridge-protocol.md §4), before edc-command can read the record
    await js.publish(
      `tillbus.edc.bridge.${deviceId}.events`,
      JSON.stringify({
        v: 1,
        type: 'event',
        deviceId,
        requestId,
        commandName: 'Purchase',
        seq: 1,
        sentAt: Date.now(),
        body: { code: 'READY' },
      }),
      { msgID: `test-${requestId}` },
    );

    await waitFor(async () => (await counted('parked')) === 1, {
      timeoutMs: 20_000,
      what: 'the message parked after its looks',
    });
    const jsm = await jetstreamManager(pos.nc);
    const dlq = await jsm.streams.getMessage(STREAMS.deadLetters, {
      last_by_subj: deadLetterSubject(EDC_BRIDGE_STREAM, DURABLES.edcBridge),
    });
    expect(dlq?.json<{ requestId: string }>().requestId).toBe(requestId);
    // handed over, not lost: the bridge consumer holds nothing, the parked consumer still has it
    const inbox = await jsm.consumers.info(EDC_BRIDGE_STREAM, DURABLES.edcBridge);
    expect(inbox.num_pending + inbox.num_ack_pending).toBe(0);
    const parked = await jsm.consumers.info(STREAMS.deadLetters, DURABLES.edcBridgeParked);
    expect(parked.num_pending + parked.num_ack_pending).toBe(1);
    expect(await counted('reapplied')).toBe(0);

    // the record becomes readable: the command is submitted (and runs) after all
    expect(await pos.submitAndWait(purchase(deviceId, requestId))).toMatchObject({
      outcome: 'SUCCESS',
    });
    await waitFor(async () => (await counted('reapplied')) === 1, {
      timeoutMs: 30_000,
      what: 'the parked message applied',
    });
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(STREAMS.deadLetters, DURABLES.edcBridgeParked);
        return info.num_pending + info.num_ack_pending === 0;
      },
      { what: 'the parked consumer empty' },
    );
  }, 90_000);
});
