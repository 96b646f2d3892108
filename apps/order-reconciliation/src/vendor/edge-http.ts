import {
  Catch,
  Injectable,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { OrderReconciliationConfig } from '../config';
import { markTimedOut } from './client-connection';
import { DStoreEdge } from './dstore-edge.service';
import { EdgeGate } from './edge-gate';
import { EdgeRefusals } from './refusals';

/**
 * How often Node looks for connections past their header or request timeout (its default is 30 s, which would let
 * a slow connection live up to 30 s past its timeout).
 */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1000;

/** The routes the HTTP server registered, as `METHOD path` (the test compares them with docs/openapi.yaml). */
@Injectable()
export class EdgeRoutes {
  private readonly routes: Array<{ methods: string[]; url: string }> = [];

  record(method: string | string[], url: string): void {
    this.routes.push({ methods: Array.isArray(method) ? [...method] : [method], url });
  }

  list(): ReadonlyArray<{ methods: string[]; url: string }> {
    return this.routes;
  }
}

/** Errors raised before a route handler (an oversized body) still get a signed D-Store answer. */
@Catch()
export class EdgeExceptionFilter implements ExceptionFilter {
  constructor(private readonly edge: DStoreEdge) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.edge.answerError(
      exception,
      http.getRequest<FastifyRequest>(),
      http.getResponse<FastifyReply>(),
    );
  }
}

/**
 * HTTP wiring for startService's `configure`: the connection limits, the header checks before any body is read
 * (EdgeGate), every body as the raw bytes received (whatever its content type), because the signature covers exactly
 * those bytes, and a body over MAX_BODY_BYTES refused.
 */
export function configureEdgeHttp(app: INestApplication, config: OrderReconciliationConfig): void {
  const fastifyApp = app as NestFastifyApplication;
  const routes = app.get(EdgeRoutes);
  const gate = app.get(EdgeGate);
  const fastify = fastifyApp.getHttpAdapter().getInstance();
  limitConnections(app.getHttpServer() as Server, config, app.get(EdgeRefusals));
  fastify.addHook('onRoute', (route) => routes.record(route.method, route.url));
  fastify.addHook('onRequest', (req, reply, done) => {
    if (gate.admit(req, reply)) done();
  });
  fastifyApp.useBodyParser(
    ['application/json', 'text/plain', '*'],
    { bodyLimit: config.MAX_BODY_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.useGlobalFilters(new EdgeExceptionFilter(app.get(DStoreEdge)));
}

/**
 * Fastify leaves the request and connection timeouts at 0 (none); these are Node's own limits, set before listen:
 * a connection gets HTTP_HEADERS_TIMEOUT_MS for its headers and HTTP_REQUEST_TIMEOUT_MS for the whole request, an
 * idle keep-alive connection HTTP_KEEP_ALIVE_TIMEOUT_MS, and past HTTP_MAX_CONNECTIONS a new connection is closed
 * at once. Each is counted as a refusal.
 */
function limitConnections(
  server: Server,
  config: OrderReconciliationConfig,
  refusals: EdgeRefusals,
): void {
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  // Read when the server starts listening (Node starts its connection checker then).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    CONNECTIONS_CHECK_INTERVAL_MS;
  server.on('drop', () => refusals.record('connection_cap'));
  // Fastify's own clientError listener writes the 408 or 400 and closes; this one only counts.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      markTimedOut(socket);
      refusals.record('timeout');
    } else if (error.code !== 'ECONNRESET') {
      refusals.record('bad_request');
    }
  });
}
