import 'reflect-metadata';
import { runServiceMain } from '@tillbus/messaging';
import { startEasyCardSession } from './app.module';
import { loadEasyCardSessionConfig } from './config';

runServiceMain(loadEasyCardSessionConfig, (config) => startEasyCardSession(config));
