import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { loadPrivateKey, loadPublicKey, type AntomKeyInput } from '@tillbus/protocols-antom';
import {
  countersOf,
  HangingResponses,
  type FleetCounters,
  type FleetFaults,
  type FleetServerOptions,
  RequestCounts,
  serveFleet,
  TerminalFaults,
} from '../shared/fleet';
import { sendJson, withBody } from '../shared/http-body';
import { antomControl, CONTROL_PREFIX } from './control';
import { DiagnosisEndpoint, type AntomRequestRecord } from './diagnosis-endpoint';
import { FaultError, parseAntomFaults, type AntomFaults } from './faults';

export type { AntomRequestRecord } from './diagnosis-endpoint';

export interface AntomFleetOptions extends FleetServerOptions<AntomFaults> {
  /** How many terminals (serial numbers `<serialPrefix><000001>`), or the exact serial numbers. */
  terminals: number | readonly string[];
  serialPrefix?: string;
  /** The terminals sign their answers with this key; generated when absent. */
  terminalPrivateKey?: AntomKeyInput;
  /** The POS's public key: requests must verify with it. Generated (with its private half) when absent. */
  posPublicKey?: AntomKeyInput;
  /** Request-Time window, as the vendor's terminals would apply it. */
  maxSkewMs?: number;
  /** Signatures remembered against replays (default 2,000,000: enough for 6,000 requests/s over 5 minutes). */
  replayMemory?: number;
}

export interface AntomFleet {
  /** Base URL of every terminal: they share one server and are told apart by Client-Id (the serial number). */
  url: string;
  port: number;
  serials: readonly string[];
  keys: {
    /** PEM (SPKI): what the POS verifies terminal answers with. */
    terminalPublicKey: string;
    /** PEM (PKCS#8): present when the fleet generated the POS key pair. */
    posPrivateKey?: string;
    posPublicKey: string;
  };
  /** By serial number. */
  faults: FleetFaults<AntomFaults>;
  /** Diagnosis requests received (any answer), fleet-wide and per serial number. */
  counters: FleetCounters<AntomRequestRecord>;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;

/** One HTTP server playing N Antom terminals: `POST /v2/device/diagnosis`, signed both ways. */
export async function startAntomFleet(options: AntomFleetOptions): Promise<AntomFleet> {
  const now = options.now ?? Date.now;
  const serials = serialNumbers(options);
  const known = new Set(serials);
  const terminalKey = options.terminalPrivateKey
    ? loadPrivateKey(options.terminalPrivateKey)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pos = posKeys(options.posPublicKey);

  const hanging = new HangingResponses();
  const faults = new TerminalFaults<AntomFaults>({
    check(serial) {
      if (!known.has(serial)) throw new FaultError(`no simulated terminal with serial ${serial}`);
    },
    parse: parseAntomFaults,
    // Terminals that were told to hang stop hanging: their pending requests are dropped.
    onClearAll: () => hanging.dropAll(),
  });
  faults.load(options.faults);
  const counts = new RequestCounts<AntomRequestRecord>(options.recordRequests === true);
  const counters = countersOf(counts);
  const endpoint = new DiagnosisEndpoint({
    serials: known,
    faults,
    hanging,
    counts,
    terminalKey,
    posPublicKey: pos.publicKey,
    maxSkewMs: options.maxSkewMs,
    replayMemory: options.replayMemory ?? 2_000_000,
    now,
  });

  const controlTarget = { serials, faults, counts, counters };

  const server = createServer(
    withBody(
      {
        maxBytes: BODY_LIMIT,
        onError: (_req, res) => sendJson(res, 500, { error: 'simulator error' }),
      },
      (req, res, raw) =>
        (req.url ?? '').startsWith(CONTROL_PREFIX)
          ? antomControl(req, res, raw, controlTarget)
          : endpoint.answer(req, res, raw),
    ),
  );
  const { listening, port, url } = await serveFleet(server, 'http', options);

  return {
    url,
    port,
    serials,
    keys: {
      terminalPublicKey: loadPublicKey(terminalKey).export({
        type: 'spki',
        format: 'pem',
      }) as string,
      posPublicKey: pos.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      ...(pos.privatePem ? { posPrivateKey: pos.privatePem } : {}),
    },
    faults,
    counters,
    async close() {
      hanging.dropAll();
      await listening.close();
    },
  };
}

function serialNumbers(options: AntomFleetOptions): string[] {
  const serials =
    typeof options.terminals === 'number'
      ? Array.from(
          { length: options.terminals },
          (_, i) => `${options.serialPrefix ?? 'ANTOMSIM'}${String(i + 1).padStart(6, '0')}`,
        )
      : [...options.terminals];
  for (const serial of serials) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(serial)) {
      throw new FaultError(
        `serial number "${serial.slice(0, 40)}" must be 1-64 of A-Z a-z 0-9 _ -`,
      );
    }
  }
  return serials;
}

/** The POS's public key as given, or a generated pair whose private half the fleet hands out. */
function posKeys(given: AntomKeyInput | undefined): { publicKey: KeyObject; privatePem?: string } {
  if (given) return { publicKey: loadPublicKey(given) };
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey: pair.publicKey,
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
