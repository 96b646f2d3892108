import 'reflect-metadata';
import { runMain } from '@tillbus/messaging';
import { startOrderReconciliation } from './app.module';
import { loadOrderReconciliationConfig, type OrderReconciliationConfig } from './config';

let config: OrderReconciliationConfig;
try {
  config = loadOrderReconciliationConfig();
} catch (error) {
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: 'service failed to start',
      error: (error as Error).message,
    }) + '\n',
  );
  process.exit(1);
}

runMain(() => startOrderReconciliation({ config }), {
  shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
});
