import 'reflect-metadata';
import { runServiceMain } from '@tillbus/messaging';
import { startDeviceHealthFromConfig } from './app.module';
import { loadDeviceHealthConfig } from './config';

runServiceMain(loadDeviceHealthConfig, (config) => startDeviceHealthFromConfig(config));
