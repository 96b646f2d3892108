import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { loadIntellaPrivateKey } from '@tillbus/protocols-intella';
import { JsonLogger, type JsonLogLevel } from '@tillbus/observability';
import { sendJson, urlPath, withBody } from '../shared/http-body';
import { listen, reachableHost } from '../shared/http-server';
import { createSimClock, type SimClock, type SimClockOptions } from './clock';
import { CONTROL_PREFIX, intellaControl } from './control';
import { MerchantDirectory, type SimMerchantOptions, type SimReaderStats } from './directory';
import { EasyCardService, type EasyCardServiceOptions } from './easycard-service';
import { IntellaEndpoint, type SimCounters } from './endpoint';
import { FaultBook, parseFaultSpec, type ActiveFault, type IntellaFaultSpec } from './faults';

export { CONTROL_PREFIX } from './control';
export { generateReaderIds, type SimMerchantOptions, type SimReaderStats } from './directory';
export { taiwanDay, type DeviceListFormat } from './easycard-service';
export type { SimCounters } from './endpoint';

export const DEFAULT_INTELLA_PATH = '/allpaypass/api/general';
const MAX_BODY_BYTES = 256 * 1024;

export interface IntellaSimulatorOptions extends EasyCardServiceOptions {
  port?: number;
  host?: string;
  path?: string;
  merchants: SimMerchantOptions[];
  /** intella's RSA private key (PEM, Base64 PKCS#8 DER or KeyObject); generated (2048 bits) when absent. */
  privateKey?: string | KeyObject;
  /** Default IV for merchants without their own; random when absent. */
  iv?: string;
  faults?: IntellaFaultSpec[];
  clock?: SimClock | SimClockOptions;
  logLevel?: JsonLogLevel;
  logWrite?: (line: string) => void;
}

export interface IntellaSimulator {
  /** The intella endpoint (POST). */
  url: string;
  port: number;
  controlUrl: string;
  publicKeyPem: string;
  /** The IV of each merchant. */
  ivs: Record<string, string>;
  faults: {
    add(spec: IntellaFaultSpec): ActiveFault;
    remove(id: number): boolean;
    clear(): void;
    list(): ActiveFault[];
  };
  counters(): SimCounters;
  readers(): SimReaderStats[];
  reader(deviceId: string): SimReaderStats | undefined;
  /** Sum of SignOn requests over all readers. */
  signOnRequests(): number;
  /** Every NewAESKey handed out, per reader (a test scans logs and events for them). */
  issuedKeys(): Record<string, string[]>;
  addReader(mchId: string, deviceId: string): void;
  removeReader(deviceId: string): boolean;
  resetCounters(): void;
  close(): Promise<void>;
}

/** Starts an intella Scan2Pay EasyCard endpoint with its own RSA key pair and a control API. */
export async function startIntellaSimulator(
  options: IntellaSimulatorOptions,
): Promise<IntellaSimulator> {
  const clock: SimClock =
    typeof options.clock === 'function' ? options.clock : createSimClock(options.clock);
  const logger = new JsonLogger({
    service: 'intella-sim',
    level: options.logLevel ?? 'info',
    write: options.logWrite,
  });
  const privateKey = options.privateKey
    ? loadIntellaPrivateKey(options.privateKey)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicKeyPem = createPublicKey(privateKey)
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const path = options.path ?? DEFAULT_INTELLA_PATH;
  const directory = new MerchantDirectory(options.merchants, options.iv);
  const faults = new FaultBook();
  for (const spec of options.faults ?? []) faults.add(parseFaultSpec(spec));
  const service = new EasyCardService(directory, clock, options);
  const endpoint = new IntellaEndpoint({ privateKey, directory, service, faults, clock, logger });
  const resetCounters = () => {
    endpoint.resetCounters();
    directory.resetReaderCounts();
  };
  const controlTarget = { directory, endpoint, faults, publicKeyPem, resetCounters };

  const server = createServer(
    withBody(
      {
        maxBytes: MAX_BODY_BYTES,
        onError(_req, res, error) {
          logger.event('error', 'simulator request failed', { error });
          sendJson(res, 500, { error: 'simulator error' });
        },
      },
      (req, res, body) => {
        const url = urlPath(req.url);
        if (url.startsWith(`${CONTROL_PREFIX}/`))
          return intellaControl(req, res, body, controlTarget);
        if (url !== path)
          return sendJson(res, 404, { error: `no route ${url}; intella is at ${path}` });
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
        return endpoint.handle(body, res);
      },
    ),
  );
  const listening = await listen(server, options);
  const port = listening.port;
  const host = reachableHost(options.host);
  const base = `http://${host}:${port}`;
  return {
    url: `${base}${path}`,
    port,
    controlUrl: `${base}${CONTROL_PREFIX}`,
    publicKeyPem,
    ivs: directory.ivByMerchant(),
    faults: {
      add: (spec) => faults.add(parseFaultSpec(spec)),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
      list: () => faults.list(),
    },
    counters: () => structuredClone(endpoint.counters),
    readers: () => directory.readerStats(),
    reader: (deviceId) => directory.readerStats().find((reader) => reader.deviceId === deviceId),
    signOnRequests: () => directory.signOnRequests(),
    issuedKeys: () => directory.issuedKeys(),
    addReader: (mchId, deviceId) => directory.addReader(mchId, deviceId),
    removeReader: (deviceId) => directory.removeReader(deviceId),
    resetCounters,
    close: () => listening.close(),
  };
}
