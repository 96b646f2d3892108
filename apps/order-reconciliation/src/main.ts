import 'reflect-metadata';
import { runServiceMain } from '@tillbus/runtime';
import { startOrderReconciliation } from './app.module';
import { loadOrderReconciliationConfig } from './config';

runServiceMain(loadOrderReconciliationConfig, (config) => startOrderReconciliation({ config }));
