import 'reflect-metadata';
import { loadConfig } from '@tillbus/config';
import { runMain, startService } from '@tillbus/messaging';
import { edcCommandModule } from './app.module';
import { EdcCommandConfig } from './config';

let config: EdcCommandConfig;
try {
  config = loadConfig(EdcCommandConfig);
} catch (error) {
  // one readable line; the message names the variables, never their values
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: 'service failed to start',
      error: (error as Error).message,
    }) + '\n',
  );
  process.exit(1);
}
runMain(() => startService({ module: edcCommandModule({ config }) }), {
  shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
});
