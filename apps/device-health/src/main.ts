import 'reflect-metadata';
import { runMain } from '@tillbus/messaging';
import { startDeviceHealth } from './app.module';

// SHUTDOWN_GRACE_MS is read again (validated) by startDeviceHealth; runMain needs it before the service exists.
const grace = Number(process.env.SHUTDOWN_GRACE_MS ?? 25_000);
runMain(() => startDeviceHealth(process.env), {
  shutdownGraceMs: Number.isFinite(grace) ? grace : 25_000,
});
