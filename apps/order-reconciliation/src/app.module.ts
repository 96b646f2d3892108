import { Module, type DynamicModule } from '@nestjs/common';
import { SecretResolver } from '@tillbus/config';
import { SERVICES } from '@tillbus/contracts';
import {
  CLOCK,
  type Clock,
  messagingOptionsFromConfig,
  serviceProvisioning,
  systemClock,
} from '@tillbus/messaging';
import {
  MessagingModule,
  ObservabilityModule,
  type RunningService,
  startService,
} from '@tillbus/runtime';
import { OrderBusController } from './bus/order-bus.controller';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from './config';
import { DStoreEdgeController } from './vendor/dstore-edge.controller';
import { DStoreEdge } from './vendor/dstore-edge.service';
import { EdgeGate } from './vendor/edge-gate';
import { configureEdgeHttp, EdgeRoutes } from './vendor/edge-http';
import { KvReplayGuard } from './vendor/kv-replay-guard';
import { EdgeRefusals } from './vendor/refusals';
import { KEY_MATERIAL, loadKeyMaterial } from './vendor/key-material';
import { OrderMetrics } from './metrics';
import { LifecycleConsumer } from './orders/lifecycle-consumer';
import { OrderEvents } from './orders/order-events';
import { OrderStatusGauge } from './orders/order-status-gauge';
import { OrderStore, StoreAccess } from './orders/order-store';
import { DELIVERY_POLICY, deliveryPolicyOf, OrdersService } from './orders/orders.service';
import { Notifier } from './outbox/notifier';
import { OutboxDispatcher } from './outbox/outbox-dispatcher';
import { ReadinessChecks, SECRET_RESOLVER } from './readiness/readiness';

export interface OrderReconciliationOptions {
  config: OrderReconciliationConfig;
  /** Where the key references resolve; defaults to the process environment and SECRETS_DIR. */
  secrets?: SecretResolver;
  clock?: Clock;
  /** Tests capture log lines through this. */
  logWrite?: (line: string) => void;
}

@Module({})
class OrderReconciliationModule {}

/** The whole service as one module; the keys are loaded here, so a bad key fails the boot with a clear line. */
export function orderReconciliationModule(options: OrderReconciliationOptions): DynamicModule {
  const { config } = options;
  const secrets = options.secrets ?? new SecretResolver();
  const keys = loadKeyMaterial(config, secrets);
  return {
    module: OrderReconciliationModule,
    imports: [
      ObservabilityModule.forRoot({
        service: SERVICES.orderReconciliation,
        opsPort: config.OPS_PORT,
        opsHost: config.OPS_HOST,
        logLevel: config.LOG_LEVEL,
        logWrite: options.logWrite,
      }),
      MessagingModule.forRoot(
        messagingOptionsFromConfig(
          SERVICES.orderReconciliation,
          config,
          serviceProvisioning(SERVICES.orderReconciliation, config),
        ),
      ),
    ],
    controllers: [DStoreEdgeController, OrderBusController],
    providers: [
      { provide: ORDER_RECONCILIATION_CONFIG, useValue: config },
      { provide: KEY_MATERIAL, useValue: keys },
      { provide: SECRET_RESOLVER, useValue: secrets },
      { provide: CLOCK, useValue: options.clock ?? systemClock },
      { provide: DELIVERY_POLICY, useValue: deliveryPolicyOf(config) },
      OrderMetrics,
      StoreAccess,
      OrderStore,
      OrderEvents,
      OrdersService,
      KvReplayGuard,
      EdgeRefusals,
      EdgeGate,
      DStoreEdge,
      EdgeRoutes,
      Notifier,
      OutboxDispatcher,
      LifecycleConsumer,
      OrderStatusGauge,
      ReadinessChecks,
    ],
  };
}

/** Starts the service: the D-Store HTTP edge, the bus handlers, the lifecycle consumer and the outbox. */
export function startOrderReconciliation(
  options: OrderReconciliationOptions,
): Promise<RunningService> {
  const { config } = options;
  return startService({
    module: orderReconciliationModule(options),
    http: {
      port: config.HTTP_PORT,
      host: config.HTTP_HOST,
      configure: (app) => configureEdgeHttp(app, config),
    },
  });
}
