import type { KV, KvEntry } from '@nats-io/kv';
import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { EdcCommandConfig } from '../config';
import type { StoredCommand } from '../record/model';
import { CommandTakeover } from '../ownership/command-takeover';
import { RecordStore } from '../store/stores';
import { CommandIntake } from './command-intake';
import { CommandWriter } from './command-writer';

/**
 * A bucket on a node cut from the other two: a create reaches a quorum but its answer does not come back, and reads
 * fail, or answer from the node's stale copy, until the link is back.
 */
class CutOffBucket {
  private revision = 0;
  private readonly entries = new Map<string, { revision: number; data: string }>();
  reads: 'fail' | 'stale' | 'answer' = 'fail';
  createAnswers = false;

  asKv(): KV {
    return this as unknown as KV;
  }

  async get(key: string): Promise<KvEntry | null> {
    if (this.reads === 'fail') throw new Error('TIMEOUT');
    const entry = this.reads === 'answer' ? this.entries.get(key) : undefined;
    if (!entry) return null;
    const { revision, data } = entry;
    return {
      key,
      revision,
      operation: 'PUT',
      length: data.length,
      json: () => JSON.parse(data),
    } as unknown as KvEntry;
  }

  async create(key: string, data: string): Promise<number> {
    if (this.entries.has(key)) throw new Error('wrong last sequence: key exists');
    this.entries.set(key, { revision: ++this.revision, data });
    if (!this.createAnswers) throw new Error('TIMEOUT');
    return this.revision;
  }

  async update(key: string, data: string, revision: number): Promise<number> {
    if (this.entries.get(key)?.revision !== revision) throw new Error('wrong last sequence: 0');
    this.entries.set(key, { revision: ++this.revision, data });
    return this.revision;
  }

  stored(key: string): StoredCommand | undefined {
    const entry = this.entries.get(key);
    return entry && (JSON.parse(entry.data) as StoredCommand);
  }
}

function setup() {
  const clock = new ManualClock();
  const config = Object.assign(new EdcCommandConfig(), {
    REPLICA_ID: 'replica-a',
    EDC_RECOVERY_WITHOUT_REQUEST_ID: 'never',
  });
  const bucket = new CutOffBucket();
  const records = new RecordStore(() => bucket.asKv());
  const writer = new CommandWriter(records, config, clock);
  const owned = new Set<string>();
  const timers = {
    own: (key: string) => owned.add(key),
    owns: (key: string) => owned.has(key),
    disown: (key: string) => owned.delete(key),
    tick: async () => undefined,
  };
  const resent: string[] = [];
  const dispatch = {
    dispatch: async () => null,
    resendUntilAcked: async (_key: string, command: { requestId: string }) => {
      resent.push(command.requestId);
    },
  };
  const metrics = { rejections: { inc: () => undefined }, adoptions: { inc: () => undefined } };
  const logger = { event: () => undefined };
  const run = { stopping: false };
  const takeover = new CommandTakeover(
    clock,
    { replicaId: 'replica-a', isLive: () => true } as never,
    {} as never,
    records,
    writer,
    dispatch as never,
    timers as never,
    {} as never,
    {} as never,
    { publish: async () => true } as never,
    metrics as never,
    logger as never,
    run as never,
  );
  const intake = new CommandIntake(
    config,
    clock,
    {} as never,
    records,
    {} as never,
    { take: async () => ({ kind: 'taken', previous: null }) } as never,
    writer,
    dispatch as never,
    {} as never,
    {} as never,
    timers as never,
    {} as never,
    { device: () => ({ state: 'online', bridgeId: 'b0', init: null }) } as never,
    {} as never,
    metrics as never,
    logger as never,
    takeover,
  );
  const submit = (requestId: string) =>
    intake.submit({
      deviceId: 'd1',
      requestId,
      commandName: 'Purchase',
      params: {
        paymentAmount: { value: '1000', currency: 'KRW' },
        taxAmount: { value: '91', currency: 'KRW' },
        tipAmount: { value: '0', currency: 'KRW' },
        creditPayPlan: { installmentNum: '0' },
        paymentExpiryTime: '30',
        acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
      },
    } as never);
  /** Lets the promises the clock's timers started run. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  const advance = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  return { config, bucket, owned, resent, submit, advance, settle };
}

/**
 * The cluster tier's partition case: the create of a command's record was stored by a quorum, but its answer was
 * cut off. The POS was refused and asked again, and was answered with a command that nothing ran: the next full
 * scan, a minute later and past its notAfter, took it into a recovery that could not tell, and it ended in doubt.
 */
describe('a submit whose record write got no answer', () => {
  it('runs the command once the store answers before its notAfter, even from a stale copy first', async () => {
    const { bucket, owned, resent, submit, advance } = setup();
    await expect(submit('r1')).rejects.toThrow('TIMEOUT');
    expect(bucket.stored('r1')?.lifecycle.phase).toBe('sent');

    await advance(1_000);
    bucket.reads = 'stale';
    await advance(1_000);
    expect(resent).toEqual([]);

    bucket.reads = 'answer';
    await advance(1_000);
    expect(resent).toEqual(['r1']);
    expect(owned.has('r1')).toBe(true);
  });

  it('ends it failed, nothing started, when the store answers only after its notAfter', async () => {
    const { config, bucket, resent, submit, advance } = setup();
    await expect(submit('r2')).rejects.toThrow('TIMEOUT');

    await advance(config.EDC_DISPATCH_WINDOW_MS + 1_000);
    bucket.reads = 'answer';
    await advance(1_000);
    const record = bucket.stored('r2');
    expect(record?.lifecycle.phase).toBe('failed');
    expect(record?.lifecycle.failure).toEqual({ type: 'bridge', code: 'expired' });
    expect(resent).toEqual([]);
  });

  it('leaves a record alone once another replica has taken it over', async () => {
    const { config, bucket, resent, submit, advance } = setup();
    await expect(submit('r3')).rejects.toThrow('TIMEOUT');
    const taken = { ...bucket.stored('r3')!, owner: 'replica-b' };
    await bucket.update('r3', JSON.stringify(taken), 1);

    await advance(config.EDC_DISPATCH_WINDOW_MS + 1_000);
    bucket.reads = 'answer';
    await advance(1_000);
    expect(bucket.stored('r3')?.lifecycle.phase).toBe('sent');
    expect(resent).toEqual([]);
  });
});
