import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enableNexoKeyCache } from '@tillbus/protocols-adyen';
import {
  countersOf,
  type FleetCounters,
  type FleetFaults,
  type FleetServerOptions,
  RequestCounts,
  serveFleet,
} from '../shared/fleet';
import { sendJson, urlPath, withBody } from '../shared/http-body';
import { adyenControl, CONTROL_PREFIX } from './control';
import type { AdyenFaults } from './faults';
import { PoiStates } from './poi-state';
import { simulatedPois, type PoiListOptions } from './pois';
import { TerminalApi, type AdyenRequestRecord } from './terminal-api';
import { generateSelfSignedCertificate, type TlsMaterial } from './tls';

export type { AdyenSimTerminalSpec } from './pois';
export type { AdyenRequestRecord } from './terminal-api';

export interface AdyenFleetOptions extends FleetServerOptions<AdyenFaults>, PoiListOptions {
  /** The fleet's shared Nexo security key (each terminal may have its own). A random passphrase by default. */
  keyIdentifier?: string;
  passphrase?: string;
  keyVersion?: number;
  /** Enables the cloud endpoint `POST /sync`, which accepts this X-API-Key. */
  cloudApiKey?: string;
  /** Certificate and key to serve; otherwise one is generated with openssl into `tlsDir` (or a temp dir). */
  tls?: TlsMaterial;
  tlsDir?: string;
}

export interface AdyenFleet {
  /** `https://host:port`: the local endpoint is `${url}/nexo`, the cloud stand-in `${url}/sync`. */
  url: string;
  nexoUrl: string;
  port: number;
  poiIds: readonly string[];
  terminalIds: readonly string[];
  mobileIds: readonly string[];
  /** The certificate clients must trust (it is its own CA): ADYEN_TERMINAL_CA_FILE. */
  caCertPath: string;
  caCert: string;
  security: { keyIdentifier: string; passphrase: string; keyVersion: number };
  /** By POIID. */
  faults: FleetFaults<AdyenFaults>;
  /** A POI in a transaction answers Busy until it ends (or `durationMs` passes). */
  transactions: {
    start(poiId: string, durationMs?: number): void;
    end(poiId: string): void;
    active(poiId: string): boolean;
  };
  /** Diagnoses (local and cloud) by POIID; records carry the host flag and the channel. */
  counters: FleetCounters<AdyenRequestRecord> & {
    /** ServiceIDs that a POI saw twice (a real terminal requires them unique for 48 h). */
    duplicateServiceIds(): number;
  };
  close(): Promise<void>;
}

const BODY_LIMIT = 256 * 1024;

/** One HTTPS server playing N Adyen terminals on the local Terminal API (Nexo-encrypted) and the cloud `/sync`. */
export async function startAdyenFleet(options: AdyenFleetOptions): Promise<AdyenFleet> {
  enableNexoKeyCache();
  const now = options.now ?? Date.now;
  const security = {
    keyIdentifier: options.keyIdentifier ?? 'tillbussim',
    passphrase: options.passphrase ?? randomBytes(18).toString('base64url'),
    keyVersion: options.keyVersion ?? 1,
  };
  const pois = simulatedPois(options, security);
  const poiIds = [...pois.keys()];
  const states = new PoiStates(pois, now, options.faults);
  const counts = new RequestCounts<AdyenRequestRecord>(options.recordRequests === true);
  const resetCounters = () => {
    counts.reset();
    states.duplicateServiceIds = 0;
  };

  let tlsDir: string | undefined;
  let tls = options.tls;
  if (!tls) {
    tlsDir = options.tlsDir ?? mkdtempSync(join(tmpdir(), 'tillbus-adyen-fleet-'));
    tls = generateSelfSignedCertificate(tlsDir);
  }

  const api = new TerminalApi({
    pois,
    states,
    counts,
    ...(options.cloudApiKey === undefined ? {} : { cloudApiKey: options.cloudApiKey }),
    now,
  });
  const controlTarget = { pois, states, counts, resetCounters };
  const server = createServer(
    { cert: tls.cert, key: tls.key },
    withBody(
      {
        maxBytes: BODY_LIMIT,
        onError: (_req, res) => sendJson(res, 400, { error: 'malformed request' }),
      },
      (req, res, raw) => {
        const path = urlPath(req.url);
        if (path.startsWith(CONTROL_PREFIX)) return adyenControl(req, res, raw, controlTarget);
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
        if (path === '/nexo' || path === '/nexo/') return api.local(res, raw);
        if (path === '/sync') return api.cloud(req, res, raw);
        return sendJson(res, 404, {
          error: `no route ${path}: use /nexo (local) or /sync (cloud)`,
        });
      },
    ),
  );
  const { listening, port, url } = await serveFleet(server, 'https', options);

  return {
    url,
    nexoUrl: `${url}/nexo`,
    port,
    poiIds,
    terminalIds: poiIds.filter((id) => pois.get(id)!.kind === 'terminal'),
    mobileIds: poiIds.filter((id) => pois.get(id)!.kind === 'mobile-sdk'),
    caCertPath: tls.certPath,
    caCert: tls.cert,
    security,
    faults: states.faults,
    transactions: {
      start: (poiId, durationMs) => states.startTransaction(poiId, durationMs),
      end: (poiId) => states.endTransaction(poiId),
      active: (poiId) => states.inTransaction(poiId),
    },
    counters: {
      ...countersOf(counts),
      duplicateServiceIds: () => states.duplicateServiceIds,
      reset: resetCounters,
    },
    async close() {
      states.hanging.dropAll();
      await listening.close();
      if (tlsDir && !options.tlsDir) rmSync(tlsDir, { recursive: true, force: true });
    },
  };
}
