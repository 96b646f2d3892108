import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { NotFoundError } from '@tillbus/contracts';
import { CLOCK, type Clock, kvJson, KvMirror, updateWithRevision } from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger, OpsServer } from '@tillbus/observability';
import { BUCKETS } from '../config';
import { toRecordFields, type TerminalDto, type TerminalRecord } from './terminal.dto';

type Listener = (terminalId: string, record: TerminalRecord | undefined) => void;

/** The terminal registry: one KV bucket every replica reads from memory and writes through compare-and-set. */
@Injectable()
export class RegistryService
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private kv!: KV;
  private mirror!: KvMirror<TerminalRecord>;
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly setup: JetStreamSetup,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
    private readonly ops: OpsServer,
  ) {}

  onModuleInit(): void {
    this.kv = this.setup.bucket(BUCKETS.terminals);
    this.mirror = new KvMirror<TerminalRecord>(this.kv, {
      name: 'registry',
      decode: (value) => value as TerminalRecord,
      clock: this.clock,
      logger: this.logger,
      onChange: (id, record) => this.listeners.forEach((listen) => listen(id, record)),
    });
    this.mirror.start();
    this.ops.addReadinessCheck({
      name: 'registry',
      check: () =>
        this.mirror.isLoaded
          ? { ok: true }
          : { ok: false, detail: 'terminal registry not loaded yet' },
    });
  }

  /** The replica answers with the whole registry in memory, not a part of it. */
  async onApplicationBootstrap(): Promise<void> {
    await this.mirror.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    this.mirror?.stop();
  }

  /** Resolves when the registry is in memory. */
  loaded(): Promise<void> {
    return this.mirror.ready;
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** From memory: may lag a write made on another replica by the watch delay. */
  cached(terminalId: string): TerminalRecord | undefined {
    return this.mirror.get(terminalId)?.value;
  }

  all(): TerminalRecord[] {
    return [...this.mirror.values()].map((entry) => entry.value);
  }

  get size(): number {
    return this.mirror.size;
  }

  /** Read through to KV: the answer for a bus request. */
  async get(terminalId: string): Promise<TerminalRecord> {
    const record = kvJson.decode<TerminalRecord>(await this.kv.get(terminalId));
    if (!record)
      throw new NotFoundError(`no terminal ${terminalId} in the registry`, { terminalId });
    return record;
  }

  async upsert(
    dto: TerminalDto,
    mode: 'overwrite' | 'create' = 'overwrite',
  ): Promise<{ terminal: TerminalRecord; created: boolean; written: boolean }> {
    const now = new Date(this.clock.now()).toISOString();
    const fields = toRecordFields(dto);
    let created = false;
    const result = await updateWithRevision<TerminalRecord>(this.kv, dto.terminalId, (current) => {
      created = current === undefined;
      if (current && mode === 'create') return undefined;
      return {
        ...fields,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
    });
    if (result.changed && result.value)
      this.mirror.remember(dto.terminalId, result.value, result.revision);
    return { terminal: result.value!, created: created && result.changed, written: result.changed };
  }

  async remove(terminalId: string): Promise<boolean> {
    const existing = kvJson.decode<TerminalRecord>(await this.kv.get(terminalId));
    if (!existing) return false;
    await this.kv.delete(terminalId);
    return true;
  }
}
