import 'reflect-metadata';
import { runServiceMain } from '@tillbus/runtime';
import { startEasyCardSession } from './app.module';
import { loadEasyCardSessionConfig } from './config';

runServiceMain(loadEasyCardSessionConfig, (config) => startEasyCardSession(config));
