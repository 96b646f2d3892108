import type { Provider } from '@nestjs/common';
import { JetStreamSetup } from '@tillbus/runtime';
import { BUCKETS } from './keys';
import { DeviceStore, RecordStore } from './stores';

/** The KV stores, each on its bucket as the messaging module opens it (after the providers are built). */
export const STORE_PROVIDERS: Provider[] = [
  {
    provide: RecordStore,
    inject: [JetStreamSetup],
    useFactory: (setup: JetStreamSetup) => new RecordStore(() => setup.bucket(BUCKETS.commands)),
  },
  {
    provide: DeviceStore,
    inject: [JetStreamSetup],
    useFactory: (setup: JetStreamSetup) => new DeviceStore(() => setup.bucket(BUCKETS.devices)),
  },
];
