import {
  Catch,
  Injectable,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OrderReconciliationConfig } from '../config';
import { DStoreEdge } from './dstore-edge.service';

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
 * HTTP wiring for startService's `configure`: every body arrives as the raw bytes received (whatever its
 * content type), because the signature covers exactly those bytes, and a body over MAX_BODY_BYTES is refused.
 */
export function configureEdgeHttp(app: INestApplication, config: OrderReconciliationConfig): void {
  const fastifyApp = app as NestFastifyApplication;
  const routes = app.get(EdgeRoutes);
  fastifyApp
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => routes.record(route.method, route.url));
  fastifyApp.useBodyParser(
    ['application/json', 'text/plain', '*'],
    { bodyLimit: config.MAX_BODY_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.useGlobalFilters(new EdgeExceptionFilter(app.get(DStoreEdge)));
}
