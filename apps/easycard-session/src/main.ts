import 'reflect-metadata';
import { runMain } from '@tillbus/messaging';
import { startEasyCardSession } from './app.module';
import { loadEasyCardSessionConfig, type EasyCardSessionConfig } from './config';

let config: EasyCardSessionConfig;
try {
  config = loadEasyCardSessionConfig();
} catch (error) {
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: 'service failed to start',
      error: error instanceof Error ? error.message : String(error),
    }) + '\n',
  );
  process.exit(1);
}
runMain(() => startEasyCardSession(config), { shutdownGraceMs: config.SHUTDOWN_GRACE_MS });
