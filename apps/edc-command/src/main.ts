import 'reflect-metadata';
import { loadConfig } from '@tillbus/config';
import { runServiceMain, startService } from '@tillbus/runtime';
import { edcCommandModule } from './app.module';
import { EdcCommandConfig } from './config';

runServiceMain(
  () => loadConfig(EdcCommandConfig),
  (config) => startService({ module: edcCommandModule({ config }) }),
);
