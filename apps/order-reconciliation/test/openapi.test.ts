import SwaggerParser from '@apidevtools/swagger-parser';
import { freePort, startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EdgeRoutes } from '../src/vendor/edge-http';
import { EDGE_APIS } from '../src/vendor/dstore-edge.service';
import { applyReport, newOrderRecord } from '../src/orders/order-record';
import { Notifier } from '../src/outbox/notifier';
import {
  AntomProtocolError,
  parseCreateOrderRequest,
  readCreateOrderRequest,
  readPushOrderChangeRequest,
  type AntomMessageInput,
} from '@tillbus/protocols-antom';
import {
  answerSignatureValid,
  DSTORE_CLIENT,
  generateKeys,
  sampleOrder,
  sendSigned,
  serviceEnv,
  startInProcess,
  type InProcessService,
} from './support';

const DOCUMENT = join(__dirname, '../../../docs/openapi.yaml');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  operationId: string;
  requestBody: {
    content: {
      'application/json': {
        schema: Schema;
        example?: unknown;
        examples?: Record<string, { value: unknown }>;
      };
    };
  };
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content: Record<string, { schema: Schema }> }
  >;
}
interface Schema {
  required?: string[];
  properties?: Record<string, Schema>;
  enum?: string[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, Record<string, Operation>>;
  info: { 'x-tillbus-fallback': { routes: string[] } };
}

const keys = generateKeys();
let nats: TestNatsServer;
let service: InProcessService;
let api: Document;

beforeAll(async () => {
  nats = await startTestNatsServer();
  service = await startInProcess(
    serviceEnv(keys, nats.url, await freePort(), 'http://127.0.0.1:9'),
  );
  // Dereferenced, so schemas can be walked without following $refs by hand.
  api = (await SwaggerParser.dereference(DOCUMENT)) as unknown as Document;
});

afterAll(async () => {
  await service?.close();
  await nats?.dispose();
});

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validated = await SwaggerParser.validate(DOCUMENT);
    expect((validated as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('documents every route the server registered, and nothing it does not serve', () => {
    const registered = service.running.app
      .get(EdgeRoutes)
      .list()
      .flatMap((r) => r.methods.map((m) => `${m} ${r.url}`));
    const fallback = api.info['x-tillbus-fallback'].routes;
    const documented = Object.entries(api.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => HTTP_METHODS.includes(k))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    const fallbackRoutes = registered.filter((r) => r.endsWith(' /*'));
    expect(fallbackRoutes.length).toBeGreaterThan(0);
    expect(fallback).toEqual(['* /*']);
    expect(registered.filter((r) => !r.endsWith(' /*')).sort()).toEqual(documented.sort());
    expect(Object.keys(api.paths).sort()).toEqual(Object.values(EDGE_APIS).sort());
  });

  it('every documented operation answers its example as documented: result, signature, fields', async () => {
    const order = ['createOrder', 'inquireOrderDetail', 'pushOrderChange'];
    const operations = Object.entries(api.paths)
      .flatMap(([path, item]) => Object.entries(item).map(([, op]) => ({ path, op })))
      .sort((a, b) => order.indexOf(a.op.operationId) - order.indexOf(b.op.operationId));
    expect(operations.map((o) => o.op.operationId)).toEqual(order);
    const sends = operations.flatMap(({ path, op }) => {
      const body = op.requestBody.content['application/json'];
      const examples = body.examples
        ? Object.values(body.examples).map((e) => e.value)
        : [body.example];
      return examples.map((example) => ({ path, op, example: example as object }));
    });
    expect(sends.length).toBeGreaterThan(operations.length);
    for (const { path, op, example } of sends) {
      const answer = await sendSigned(service.url, keys, path, example);
      const documented = op.responses['200'];
      const schema = documented.content['application/json'].schema;
      expect(answer.status, path).toBe(200);
      expect(answer.body.result.resultCode, path).toBe('SUCCESS');
      for (const field of schema.required ?? []) expect(answer.body, path).toHaveProperty(field);
      for (const field of schema.properties!.result.required ?? [])
        expect(answer.body.result, path).toHaveProperty(field);
      expect(schema.properties!.result.properties!.resultCode.enum).toContain(
        answer.body.result.resultCode,
      );
      if (op.operationId === 'inquireOrderDetail') {
        expect(schema.properties!.orderStatus.enum).toContain(answer.body.orderStatus);
        expect(answer.body.posOrderId).toEqual(expect.any(String));
      }
      for (const header of Object.keys(documented.headers ?? {}))
        expect(answer.headers.get(header), `${path} ${header}`).toBeTruthy();
      expect(answerSignatureValid(answer, keys.posPublic, 'POST', path, DSTORE_CLIENT)).toBe(true);
    }
  });

  it.each([
    ['createOrder', '/v2/pos/createOrder', readCreateOrderRequest],
    ['pushOrderChange', '/v2/pos/pushOrderChange', readPushOrderChangeRequest],
  ] as const)(
    '%s: the documented required fields are exactly the ones the edge refuses without, and every documented field is read',
    (_name, path, read: (input: AntomMessageInput) => { unknownFields: string[] }) => {
      const body = api.paths[path].post.requestBody.content['application/json'];
      const example = (body.example ?? Object.values(body.examples!)[0].value) as Record<
        string,
        unknown
      >;
      const refusedWithout = Object.keys(example).filter((field) => {
        const { [field]: _gone, ...rest } = example;
        try {
          read(rest);
          return false;
        } catch (error) {
          if (error instanceof AntomProtocolError) return true;
          throw error;
        }
      });
      expect(refusedWithout.sort()).toEqual([...(body.schema.required ?? [])].sort());
      const documented = Object.keys(body.schema.properties!);
      const everyField = Object.fromEntries(
        Object.values(body.examples ?? { one: { value: example } }).flatMap((e) =>
          Object.entries(e.value as object),
        ),
      );
      expect(read(everyField).unknownFields.filter((f) => documented.includes(f))).toEqual([]);
    },
  );

  it('documents every result code the edge can answer, and the webhook body is what the notifier sends', () => {
    const text = readFileSync(DOCUMENT, 'utf8');
    const raw = parse(text) as {
      components: { schemas: { Result: { properties: { resultCode: { enum: string[] } } } } };
    };
    expect(raw.components.schemas.Result.properties.resultCode.enum.sort()).toEqual(
      [
        'SUCCESS',
        'PROCESS_FAIL',
        'PARAM_ILLEGAL',
        'INVALID_API',
        'INVALID_SIGNATURE',
        'ACCESS_DENIED',
        'REQUEST_TRAFFIC_EXCEED_LIMIT',
        'UNKNOWN_EXCEPTION',
      ].sort(),
    );
    const webhook = api.webhooks.notifyOrderChange.post as unknown as {
      requestBody: { content: { 'application/json': { schema: Schema } } };
    };
    const schema = webhook.requestBody.content['application/json'].schema;
    const order = newOrderRecord(parseCreateOrderRequest(sampleOrder('webhook-1')), Date.now());
    const advanced = applyReport(order, { reported: 'ACCEPTED', source: 'pos', now: Date.now() });
    if (advanced.outcome !== 'ADVANCED' || !advanced.notification)
      throw new Error('no notification');
    const sent = JSON.parse(
      Notifier.bodyOf(advanced.order, advanced.notification).toString('utf8'),
    ) as Record<string, string>;
    // Only documented fields, never posOrderId: an undocumented field would be PARAM_ILLEGAL at a strict D-Store.
    expect(Object.keys(schema.properties!)).toEqual(expect.arrayContaining(Object.keys(sent)));
    expect(sent).not.toHaveProperty('posOrderId');
    for (const field of schema.required ?? []) expect(sent).toHaveProperty(field);
    expect(schema.properties!.orderStatus.enum).toContain(sent.orderStatus);
  });
});
