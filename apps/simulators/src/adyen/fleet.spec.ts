import Client from '@adyen/api-library/lib/src/client';
import Config, { EnvironmentEnum } from '@adyen/api-library/lib/src/config';
import TerminalCloudAPI from '@adyen/api-library/lib/src/services/terminalCloudAPI';
import TerminalLocalAPI from '@adyen/api-library/lib/src/services/terminalLocalAPI';
import type { TerminalApiResponse } from '@adyen/api-library/lib/src/typings/terminal/models';
import { request as httpsRequest } from 'node:https';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  attestationVerdict,
  buildDiagnosisRequest,
  hostReachability,
  isTampered,
  offlinePayments,
  parseDiagnosisResponse,
  type ParsedDiagnosis,
} from '@tillbus/protocols-adyen';
import { FaultError, parseAdyenFaults } from './faults';
import { startAdyenFleet, type AdyenFleet } from './fleet';

let fleet: AdyenFleet;
let sequence = 0;
const CLOUD_KEY = 'sim-cloud-api-key';

beforeAll(async () => {
  fleet = await startAdyenFleet({
    terminals: 2,
    mobile: 1,
    cloudApiKey: CLOUD_KEY,
    recordRequests: true,
  });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.faults.clearAll());

const terminal = () => fleet.terminalIds[0];

/**
 * The library's own local client, unmodified. It always appends ":8443/nexo/" to terminalApiLocalEndpoint, so a
 * simulator on another port is reached by ending the endpoint with "#": the appended text becomes a URL fragment.
 */
function localClient(passphrase = fleet.security.passphrase) {
  const config = new Config({
    environment: EnvironmentEnum.TEST,
    apiKey: 'not-used-by-local-terminals',
    certificatePath: fleet.caCertPath,
    terminalApiLocalEndpoint: `${fleet.url}/nexo#`,
    connectionTimeoutMillis: 5000,
  });
  const api = new TerminalLocalAPI(new Client(config));
  const key = {
    AdyenCryptoVersion: 1,
    KeyIdentifier: fleet.security.keyIdentifier,
    KeyVersion: fleet.security.keyVersion,
    Passphrase: passphrase,
  };
  return (poiId: string, hostDiagnosis = false) => api.request(request(poiId, hostDiagnosis), key);
}

function cloudClient(apiKey = CLOUD_KEY) {
  const client = new Client(
    new Config({
      environment: EnvironmentEnum.TEST,
      apiKey,
      certificatePath: fleet.caCertPath,
      connectionTimeoutMillis: 5000,
    }),
  );
  // The library sets the TEST cloud endpoint in the Client constructor; a stand-in replaces it before the API is built.
  client.config.terminalApiCloudEndpoint = fleet.url;
  const api = new TerminalCloudAPI(client);
  return (poiId: string, hostDiagnosis = false) => api.sync(request(poiId, hostDiagnosis));
}

function request(poiId: string, hostDiagnosis: boolean) {
  sequence += 1;
  return buildDiagnosisRequest({
    saleId: 'sim-test',
    poiId,
    serviceId: `T${sequence}`,
    hostDiagnosis,
  });
}

const parse = (response: TerminalApiResponse): ParsedDiagnosis => parseDiagnosisResponse(response);

describe("the library's TerminalLocalAPI against the simulator (real Nexo encryption)", () => {
  it('diagnoses a healthy terminal', async () => {
    const parsed = parse(await localClient()(terminal()));
    expect(parsed.kind).toBe('ok');
    expect(parsed.poiStatus).toEqual({
      globalStatus: 'OK',
      communicationOk: true,
      printerStatus: 'OK',
    });
    expect(parsed.additionalResponse).toMatchObject({
      batteryLevel: 87,
      unconfirmedBatchCount: 0,
      terminalId: terminal(),
    });
    expect(parsed.header.poiId).toBe(terminal());
  });

  it('refuses a wrong passphrase (the HMAC does not verify)', async () => {
    await expect(localClient('wrong passphrase')(terminal())).rejects.toMatchObject({
      statusCode: 401,
    });
  });

  it.each([
    [{ networkDown: true }, (p: ParsedDiagnosis) => p.poiStatus?.communicationOk === false],
    [{ noPaper: true }, (p: ParsedDiagnosis) => p.poiStatus?.printerStatus === 'NoPaper'],
    [{ paperLow: true }, (p: ParsedDiagnosis) => p.poiStatus?.printerStatus === 'PaperLow'],
    [{ paperJam: true }, (p: ParsedDiagnosis) => p.poiStatus?.printerStatus === 'PaperJam'],
    [
      { printerOutOfOrder: true },
      (p: ParsedDiagnosis) => p.poiStatus?.printerStatus === 'OutOfOrder',
    ],
    [{ lowBattery: true }, (p: ParsedDiagnosis) => p.additionalResponse?.batteryLevel === 5],
    [{ maintenance: true }, (p: ParsedDiagnosis) => p.poiStatus?.globalStatus === 'Maintenance'],
    [{ tampered: true }, (p: ParsedDiagnosis) => isTampered(p.additionalResponse!)],
    [
      { unconfirmedBatches: 3 },
      (p: ParsedDiagnosis) => p.additionalResponse?.unconfirmedBatchCount === 3,
    ],
    [{ busy: true }, (p: ParsedDiagnosis) => p.kind === 'busy'],
    [
      { errorCondition: 'UnavailableDevice' },
      (p: ParsedDiagnosis) => p.kind === 'failure' && p.errorCondition === 'UnavailableDevice',
    ],
  ])('%j', async (faults, check) => {
    fleet.faults.set(terminal(), faults as never);
    expect(check(parse(await localClient()(terminal())))).toBe(true);
  });

  it('unknownValues answers through the library with a PrinterStatus and fields it does not know', async () => {
    fleet.faults.set(terminal(), { unknownValues: true });
    const parsed = parse(await localClient()(terminal()));
    expect(parsed.kind).toBe('ok');
    expect(parsed.poiStatus).toMatchObject({ globalStatus: 'OK', printerStatus: 'CoverOpen' });
    expect(parsed.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.POIStatus.PrinterStatus', value: 'CoverOpen' },
    ]);
    // @adyen/api-library's ObjectSerializer keeps unknown enum values but drops attributes its models do not
    // declare before we see the message; what AdditionalResponse carries (a string) survives whole.
    expect(parsed.additionalResponse?.extra).toMatchObject({ newVendorKey: 'new vendor value' });
  });

  it('reports the host unreachable on the second step', async () => {
    fleet.faults.set(terminal(), { unconfirmedBatches: 2, hostUnreachable: true });
    const step1 = parse(await localClient()(terminal(), false));
    expect(step1.hostStatus).toEqual([]);
    const step2 = parse(await localClient()(terminal(), true));
    expect(hostReachability(step2)).toBe('unreachable');
  });

  it('answers Busy while the terminal is in a transaction, and not after', async () => {
    fleet.transactions.start(terminal());
    expect(parse(await localClient()(terminal())).kind).toBe('busy');
    fleet.transactions.end(terminal());
    expect(parse(await localClient()(terminal())).kind).toBe('ok');
    fleet.transactions.start(terminal(), 1);
    await new Promise((r) => setTimeout(r, 5));
    expect(parse(await localClient()(terminal())).kind).toBe('ok');
  });

  it('spoils the answer as asked', async () => {
    fleet.faults.set(terminal(), { badSignature: true });
    await expect(localClient()(terminal())).rejects.toMatchObject({
      name: 'NexoCryptoException',
    });
    fleet.faults.set(terminal(), { malformed: 'inner-garbage' });
    await expect(localClient()(terminal())).rejects.toThrow(SyntaxError);
    fleet.faults.set(terminal(), { malformed: 'wrong-types' });
    const wrongTypes = await localClient()(terminal());
    expect(() => parse(wrongTypes)).toThrow(/Result/);
  });

  it('never answers with noAnswer (the client times out)', async () => {
    fleet.faults.set(terminal(), { noAnswer: true });
    const config = new Config({
      environment: EnvironmentEnum.TEST,
      apiKey: 'x',
      certificatePath: fleet.caCertPath,
      terminalApiLocalEndpoint: `${fleet.url}/nexo#`,
    });
    const api = new TerminalLocalAPI(new Client(config));
    const pending = api.request(request(terminal(), false), {
      AdyenCryptoVersion: 1,
      KeyIdentifier: fleet.security.keyIdentifier,
      KeyVersion: fleet.security.keyVersion,
      Passphrase: fleet.security.passphrase,
    });
    const outcome = await Promise.race([
      pending.then(() => 'answered').catch(() => 'failed'),
      new Promise((r) => setTimeout(() => r('still waiting'), 300)),
    ]);
    expect(outcome).toBe('still waiting');
    fleet.faults.clearAll();
    await pending.catch(() => undefined);
  });

  it('refuses a ServiceID used twice for the same POI and counts it', async () => {
    const send = localClient();
    const before = fleet.counters.duplicateServiceIds();
    const api = new TerminalLocalAPI(
      new Client(
        new Config({
          environment: EnvironmentEnum.TEST,
          apiKey: 'x',
          certificatePath: fleet.caCertPath,
          terminalApiLocalEndpoint: `${fleet.url}/nexo#`,
        }),
      ),
    );
    const key = {
      AdyenCryptoVersion: 1,
      KeyIdentifier: fleet.security.keyIdentifier,
      KeyVersion: fleet.security.keyVersion,
      Passphrase: fleet.security.passphrase,
    };
    const same = buildDiagnosisRequest({
      saleId: 's',
      poiId: terminal(),
      serviceId: 'DUP1',
      hostDiagnosis: false,
    });
    expect(parse(await api.request(same, key)).kind).toBe('ok');
    const again = parse(await api.request(same, key));
    expect(again.kind === 'failure' && again.errorCondition).toBe('MessageFormat');
    expect(fleet.counters.duplicateServiceIds()).toBe(before + 1);
    expect(parse(await send(terminal())).kind).toBe('ok');
  });
});

describe('the library with its standard local endpoint (port 8443)', () => {
  it('reaches a simulator on <address>:8443 with terminalApiLocalEndpoint = https://<address>', async (ctx) => {
    const address = `127.${1 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    let standard: AdyenFleet;
    try {
      standard = await startAdyenFleet({ terminals: 1, host: address, port: 8443 });
    } catch {
      return ctx.skip(); // 8443 on that loopback address is taken, or the address cannot be bound here
    }
    try {
      const api = new TerminalLocalAPI(
        new Client(
          new Config({
            environment: EnvironmentEnum.TEST,
            apiKey: 'not-used-by-local-terminals',
            certificatePath: standard.caCertPath,
            terminalApiLocalEndpoint: `https://${address}`,
          }),
        ),
      );
      const response = await api.request(request(standard.terminalIds[0], false), {
        AdyenCryptoVersion: 1,
        KeyIdentifier: standard.security.keyIdentifier,
        KeyVersion: standard.security.keyVersion,
        Passphrase: standard.security.passphrase,
      });
      expect(parse(response).kind).toBe('ok');
    } finally {
      await standard.close();
    }
  });
});

describe('Mobile SDK installations', () => {
  const mobile = () => fleet.mobileIds[0];

  it('report SDK expiry, attestation, offline payments and resolvable issues', async () => {
    fleet.faults.set(mobile(), {
      sdkExpiry: '2020-01-01T00:00:00Z',
      attestation: 'Rejected',
      resolvableIssues: [{ name: 'DeveloperOptions', message: 'Turn off developer options' }],
      unconfirmedBatches: 4,
      forwardAttemptStatus: 'Connectivity failure',
    });
    const parsed = parse(await localClient()(mobile(), true));
    expect(parsed.additionalResponse?.sdkExpiry?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(attestationVerdict(parsed.additionalResponse?.attestationStatus)).toMatchObject({
      verdict: 'bad',
      status: 'Rejected',
      resolvableIssues: [{ name: 'DeveloperOptions', message: 'Turn off developer options' }],
    });
    expect(offlinePayments(parsed.additionalResponse)).toMatchObject({
      unforwardedCount: 4,
      forwardAttemptStatus: 'Connectivity failure',
      lastForwardSucceeded: false,
    });
    expect(hostReachability(parsed)).toBe('reachable');
  });
});

describe("the library's TerminalCloudAPI against the /sync stand-in", () => {
  it('diagnoses through the cloud with the API key', async () => {
    expect(parse(await cloudClient()(terminal())).kind).toBe('ok');
    expect(fleet.counters.records().at(-1)).toMatchObject({
      poiId: terminal(),
      channel: 'cloud',
    });
  });

  it('refuses a wrong API key with 401', async () => {
    await expect(cloudClient('wrong')(terminal())).rejects.toMatchObject({ statusCode: 401 });
  });
});

describe('control endpoint', () => {
  const control = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpsRequest(`${fleet.url}/_sim/${path}`, { method, ca: fleet.caCert }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  it('sets faults and transactions at run time and reports counters', async () => {
    const poiId = terminal();
    expect(await control('PUT', `terminals/${poiId}/faults`, { noPaper: true })).toEqual({
      status: 200,
      body: { noPaper: true },
    });
    await control('PATCH', `terminals/${poiId}/faults`, { lowBattery: true });
    const parsed = parse(await localClient()(poiId));
    expect(parsed.poiStatus?.printerStatus).toBe('NoPaper');
    expect(parsed.additionalResponse?.batteryLevel).toBe(5);
    await control('DELETE', `terminals/${poiId}/faults`);
    await control('POST', `terminals/${poiId}/transaction`, {});
    expect(parse(await localClient()(poiId)).kind).toBe('busy');
    await control('DELETE', `terminals/${poiId}/transaction`);
    expect(parse(await localClient()(poiId)).kind).toBe('ok');
    const counters = await control('GET', 'counters');
    expect(counters.body.total).toBeGreaterThan(0);
    expect((await control('GET', 'terminals')).body.terminals).toHaveLength(3);
  });

  it('refuses bad faults naming the field, and unknown routes', async () => {
    const refused = await control('PUT', `terminals/${terminal()}/faults`, { tampered: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/faults.tampered must be true or false/);
    expect((await control('PUT', 'terminals/V400m-9/faults', {})).status).toBe(400);
    expect((await control('GET', 'nowhere')).status).toBe(404);
  });
});

describe('parseAdyenFaults', () => {
  it.each([
    [{ busy: 'yes' }, /faults.busy must be true or false/],
    [{ errorCondition: 'Nope' }, /faults.errorCondition must be one of Aborted/],
    [{ attestation: 'Valid!' }, /faults.attestation must be one of Valid/],
    [{ batteryLevel: 101 }, /faults.batteryLevel must be an integer from 0 to 100/],
    [{ sdkExpiry: 'soon' }, /faults.sdkExpiry must be an ISO 8601/],
    [{ resolvableIssues: [{}] }, /faults.resolvableIssues\[0\].name must be/],
    [{ teleport: true }, /faults.teleport is not an Adyen fault/],
  ])('refuses %j naming the field', (input, message) => {
    expect(() => parseAdyenFaults(input)).toThrow(message);
  });

  it('never throws anything but a FaultError', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          parseAdyenFaults(input);
        } catch (error) {
          expect(error).toBeInstanceOf(FaultError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
