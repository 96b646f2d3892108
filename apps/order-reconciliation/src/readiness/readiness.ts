import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { SecretResolver } from '@tillbus/config';
import { OpsServer } from '@tillbus/observability';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { loadKeyMaterial } from '../vendor/key-material';
import { LifecycleConsumer } from '../orders/lifecycle-consumer';
import { OutboxDispatcher } from '../outbox/outbox-dispatcher';

export const SECRET_RESOLVER = Symbol('SECRET_RESOLVER');

/**
 * Readiness beyond NATS (which the messaging module checks): both consumers are running, and both key references
 * still resolve to usable keys (a removed or broken mounted secret turns the replica not-ready before a restart
 * would fail).
 */
@Injectable()
export class ReadinessChecks implements OnModuleInit {
  constructor(
    private readonly ops: OpsServer,
    private readonly lifecycle: LifecycleConsumer,
    private readonly outbox: OutboxDispatcher,
    @Inject(SECRET_RESOLVER) private readonly secrets: SecretResolver,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
  ) {}

  onModuleInit(): void {
    this.ops.addReadinessCheck({
      name: 'consumers',
      check: () =>
        this.lifecycle.running && this.outbox.running
          ? { ok: true }
          : {
              ok: false,
              detail: `lifecycle consumer ${this.lifecycle.running ? 'running' : 'stopped'}, outbox ${this.outbox.running ? 'running' : 'stopped'}`,
            },
    });
    this.ops.addReadinessCheck({
      name: 'keys',
      check: () => {
        try {
          loadKeyMaterial(this.config, this.secrets);
          return { ok: true };
        } catch (error) {
          return { ok: false, detail: (error as Error).message };
        }
      },
    });
  }
}
