import type { DynamicModule, INestApplication, INestMicroservice, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestMicroservice } from '@nestjs/microservices';
import {
  BusMetrics,
  MESSAGING_OPTIONS,
  NatsConnectionManager,
  type MessagingOptions,
} from '@tillbus/messaging';
import { JsonLogger, OpsServer, redact } from '@tillbus/observability';
import { BusExceptionFilter, UNKNOWN_ERROR_REPLY, type UnknownErrorReply } from './bus-errors';
import { createBusValidationPipe } from './bus-validation';
import { TillbusNatsServer } from './server';

export interface ServiceDefinition {
  /** The root module; it imports ObservabilityModule.forRoot and MessagingModule.forRoot. */
  module: Type<unknown> | DynamicModule;
  /** Also serve HTTP (Fastify) on this port, for services with an HTTP edge. */
  http?: {
    port: number;
    host?: string;
    configure?: (app: INestApplication) => void | Promise<void>;
  };
}

export interface RunningService {
  app: INestApplication | INestMicroservice;
  server: TillbusNatsServer;
  httpPort?: number;
  /** Stop taking work, finish in-flight work (bounded), drain NATS, stop the ops server. */
  close(): Promise<void>;
}

/** Starts a service with the safe bus defaults; tests start replicas in-process the same way. */
export async function startService(definition: ServiceDefinition): Promise<RunningService> {
  if (definition.http) return startHybrid(definition, definition.http);
  const server = new TillbusNatsServer();
  const app = await NestFactory.createMicroservice(definition.module, {
    strategy: server,
    bufferLogs: true,
  });
  wire(app, server);
  await app.listen();
  app.get(OpsServer).markStarted();
  return { app, server, close: () => shutDown(app) };
}

async function startHybrid(
  definition: ServiceDefinition,
  http: NonNullable<ServiceDefinition['http']>,
): Promise<RunningService> {
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const app = await NestFactory.create(
    definition.module,
    new FastifyAdapter({ bodyLimit: 1024 * 1024 }),
    {
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(JsonLogger));
  const server = new TillbusNatsServer();
  // Deferred: Nest builds each handler's pipes and filters when it registers the listeners, so registering them
  // at connect time (the default) would leave the bus handlers without the pipe and filter that wire() adds.
  const microservice = app.connectMicroservice(
    { strategy: server },
    { inheritAppConfig: false, deferInitialization: true },
  );
  // The application runs the lifecycle hooks once for the shared container; the microservice must not again.
  (microservice as unknown as NestMicroservice).setIsInitHookCalled(true);
  wire(microservice, server, app);
  await http.configure?.(app);
  await app.startAllMicroservices();
  await app.listen(http.port, http.host ?? '0.0.0.0');
  const address = app.getHttpServer().address();
  const httpPort = typeof address === 'object' && address ? address.port : http.port;
  app.get(OpsServer).markStarted();
  return { app, server, httpPort, close: () => shutDown(app) };
}

/**
 * Readiness turns red before anything else: for a bus-only service Nest drains the transport before it runs
 * the beforeApplicationShutdown hooks, so the probe would otherwise say "ready" for the whole drain.
 */
async function shutDown(app: INestApplication | INestMicroservice): Promise<void> {
  app.get(OpsServer).markShuttingDown();
  await app.close();
}

function wire(
  target: INestMicroservice,
  server: TillbusNatsServer,
  container: Pick<INestApplication, 'get'> = target,
): void {
  const logger = container.get(JsonLogger);
  target.useLogger(logger);
  target.useGlobalPipes(createBusValidationPipe());
  const unknownErrorReply = container.get<UnknownErrorReply | null>(UNKNOWN_ERROR_REPLY);
  target.useGlobalFilters(new BusExceptionFilter(logger, unknownErrorReply ?? undefined));
  server.attach({
    options: container.get<MessagingOptions>(MESSAGING_OPTIONS),
    connection: container.get(NatsConnectionManager),
    logger,
    metrics: container.get(BusMetrics),
  });
}

/**
 * The whole of a service's main(): start, then on SIGTERM or SIGINT stop taking work, finish in-flight work
 * and exit 0. A second signal, or a shutdown that overruns its grace, exits 1. A boot failure (for example an
 * invalid configuration) prints one readable line and exits 1.
 */
export function runMain(
  start: () => Promise<RunningService>,
  options: { shutdownGraceMs: number },
): void {
  let running: RunningService | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), options.shutdownGraceMs + 10_000).unref();
    try {
      await running?.close();
      process.exit(0);
    } catch (error) {
      process.stderr.write(
        JSON.stringify({
          level: 'error',
          msg: `shutdown after ${signal} failed`,
          error: redact(error),
        }) + '\n',
      );
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  start()
    .then((service) => {
      running = service;
    })
    .catch(exitBootFailed);
}

/**
 * The whole main() of a service whose configuration holds SHUTDOWN_GRACE_MS (every BaseServiceConfig does):
 * loads the configuration first, so an invalid one prints the same one readable line as a failed start (the
 * loader's message names the variables, never their values) and exits 1; then runMain with the configured grace.
 */
export function runServiceMain<C extends { SHUTDOWN_GRACE_MS: number }>(
  loadConfig: () => C,
  start: (config: C) => Promise<RunningService>,
): void {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    exitBootFailed(error);
  }
  runMain(() => start(config), { shutdownGraceMs: config.SHUTDOWN_GRACE_MS });
}

function exitBootFailed(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  // `jetstream is not enabled` or `timeout` alone does not say which call of the boot failed: the stack and cause do
  const detail = error instanceof Error && error.name !== 'ConfigError' ? redact(error) : undefined;
  process.stderr.write(
    JSON.stringify({ level: 'error', msg: 'service failed to start', error: message, detail }) +
      '\n',
  );
  process.exit(1);
}
