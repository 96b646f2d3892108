import { Injectable } from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { createIfAbsent } from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import type { ReplayGuard } from '@tillbus/protocols-antom';
import { createHash } from 'node:crypto';
import { REPLAY_BUCKET } from '../orders/names';
import { StoreAccess } from '../orders/order-store';

/**
 * The replay memory shared by every replica: a create-if-absent in KV of the SHA-256 of the guard key (Client-Id
 * and signature digest). The first request with a signature creates the key; any later one, on any replica, finds it
 * and is a replay. The bucket's TTL is twice the signature window: an entry must outlive its request's time plus the
 * window, and a request can arrive up to one window before its own time. If KV does not answer, the guard throws
 * (StoreUnavailableError), so the request is answered U and never accepted unchecked.
 */
@Injectable()
export class KvReplayGuard implements ReplayGuard {
  private kvHandle?: KV;

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly access: StoreAccess,
  ) {}

  private get kv(): KV {
    this.kvHandle ??= this.setup.bucket(REPLAY_BUCKET);
    return this.kvHandle;
  }

  async seen(key: string, expiresAtMs: number): Promise<boolean> {
    const kvKey = createHash('sha256').update(key, 'utf8').digest('hex');
    const result = await this.access.run('checking for a replay', () =>
      createIfAbsent(this.kv, kvKey, { exp: expiresAtMs }),
    );
    return !result.created;
  }
}
