import 'reflect-metadata';
import { runServiceMain } from '@tillbus/runtime';
import { startDeviceHealthFromConfig } from './app.module';
import { loadDeviceHealthConfig } from './config';

runServiceMain(loadDeviceHealthConfig, (config) => startDeviceHealthFromConfig(config));
