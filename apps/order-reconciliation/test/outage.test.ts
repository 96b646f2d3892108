import { type OrderView, SUBJECTS } from '@tillbus/contracts';
import { ANTOM_PATHS } from '@tillbus/protocols-antom';
import { OpsServer } from '@tillbus/observability';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerSignatureValid,
  busClient,
  busRequest,
  DSTORE_CLIENT,
  generateKeys,
  publishLifecycle,
  sampleOrder,
  sendSigned,
  serviceEnv,
  startInProcess,
  type InProcessService,
} from './support';

const keys = generateKeys();
let nats: TestNatsServer;
let service: InProcessService;
const INQUIRE = ANTOM_PATHS.INQUIRE_ORDER_DETAIL;

beforeAll(async () => {
  nats = await startTestNatsServer();
  service = await startInProcess(
    serviceEnv(keys, nats.url, await freePort(), 'http://127.0.0.1:9', {
      STORE_TIMEOUT_MS: '1000',
    }),
  );
});

afterAll(async () => {
  await service?.close();
  await nats?.dispose();
});

const inquire = () => sendSigned(service.url, keys, INQUIRE, { requestOrderId: 'outage-1' });
const opsUrl = () => `http://127.0.0.1:${service.running.app.get(OpsServer).port}`;

describe('a nats-server outage', () => {
  it('answers U (UNKNOWN_EXCEPTION) during the outage and S for the same inquiry after recovery', async () => {
    const created = await sendSigned(
      service.url,
      keys,
      ANTOM_PATHS.CREATE_ORDER,
      sampleOrder('outage-1'),
    );
    expect(created.body.result.resultCode).toBe('SUCCESS');
    expect((await inquire()).body.result.resultCode).toBe('SUCCESS');

    await nats.stop();
    const during = await inquire();
    expect(during.status).toBe(200);
    expect(during.body.result).toMatchObject({
      resultStatus: 'U',
      resultCode: 'UNKNOWN_EXCEPTION',
      resultMessage: expect.stringMatching(/unavailable|disconnected/),
    });
    expect(answerSignatureValid(during, keys.posPublic, 'POST', INQUIRE, DSTORE_CLIENT)).toBe(true);
    // Never F for a transient problem: a createOrder is not refused either, so D-Store retries it.
    const create = await sendSigned(
      service.url,
      keys,
      ANTOM_PATHS.CREATE_ORDER,
      sampleOrder('outage-2'),
    );
    expect(create.body.result.resultStatus).toBe('U');
    expect((await fetch(`${opsUrl()}/readyz`)).status).toBe(503);
    const metrics = await (await fetch(`${opsUrl()}/metrics`)).text();
    expect(metrics).toMatch(
      /tillbus_order_reconciliation_dstore_requests_total\{api="inquireOrderDetail",result_status="U",result_code="UNKNOWN_EXCEPTION"\} [1-9]/,
    );

    await nats.restart();
    const after = await waitFor(
      async () => {
        const answer = await inquire();
        return answer.body.result.resultStatus === 'S' ? answer : undefined;
      },
      { what: 'S after the outage', timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(after.body).toMatchObject({
      orderStatus: 'ORDER_SUCCESS',
      posOrderId: expect.any(String),
    });
    expect(answerSignatureValid(after, keys.posPublic, 'POST', INQUIRE, DSTORE_CLIENT)).toBe(true);
    // D-Store's retry of the createOrder refused with U now succeeds.
    const retried = await sendSigned(
      service.url,
      keys,
      ANTOM_PATHS.CREATE_ORDER,
      sampleOrder('outage-2'),
    );
    expect(retried.body.result.resultCode).toBe('SUCCESS');
  }, 60_000);

  it('keeps consuming POS events after the outage', async () => {
    const nc = await busClient(nats.url);
    try {
      await publishLifecycle(nc, 'accepted', 'outage-1', { eventId: 'after-outage' });
      const order = await waitFor(
        async () => {
          const view = await busRequest<OrderView>(nc, SUBJECTS.orderReconciliation.get, {
            requestOrderId: 'outage-1',
          });
          return view.status === 'ACCEPTED' ? view : undefined;
        },
        { what: 'the event to apply', timeoutMs: 20_000 },
      );
      expect(order.notifications[0]).toMatchObject({ orderStatus: 'ACCEPTED' });
    } finally {
      await nc.close();
    }
  }, 30_000);
});
