import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { FaultError, parseAdyenFaults, type AdyenFaults } from './faults';
import { startAdyenFleet, type AdyenFleet } from './fleet';
import { generateSelfSignedCertificate, type TlsMaterial } from './tls';

const HELP = `adyen-fleet: one HTTPS server playing N Adyen terminals on the local Terminal API (Nexo-encrypted,
POST /nexo) and, with --cloud, a stand-in for the cloud Terminal API (POST /sync with X-API-Key)

options:
  --terminals <n>        payment terminals, POIIDs <model>-000000001, ... (default 5)
  --mobile <n>           Mobile SDK installations, POIIDs 00000000-0000-4000-8000-000000000001.1, ... (default 0)
  --model <m>            terminal model in the POIID (default V400m)
  --host <h>             listen address (default 127.0.0.1)
  --port <p>             listen port (default 8443, the terminals' port; 0 picks a free one)
  --keys-dir <dir>       passphrase, cert.pem/key.pem (self-signed with openssl; its own CA) and cloud-api-key;
                         missing ones are generated there (default .tillbus/adyen-fleet)
  --key-identifier <id>  Nexo key identifier (default tillbussim)
  --key-version <n>      Nexo key version (default 1)
  --cloud                also serve POST /sync, accepting the API key in <keys-dir>/cloud-api-key
  --faults <file>        JSON {"<POIID>": {faults}} in place from the start (see README.md)
  --registry <file>      write a device-health terminal registry for this fleet (.yaml/.yml or .json)
  --stores <n>           spread the POIs over n store ids in that registry (default 1)
  --record               keep every diagnosis (terminal, time) for GET /_sim/records (tests, load checks)
  --help                 this text

At run time: PUT/PATCH/DELETE /_sim/terminals/<POIID>/faults, POST/DELETE /_sim/terminals/<POIID>/transaction,
GET /_sim/counters. device-health must trust <keys-dir>/cert.pem: ADYEN_TERMINAL_CA_FILE.
`;

export async function main(argv: string[], stop: Promise<unknown> = untilSignal()): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      terminals: { type: 'string', default: '5' },
      mobile: { type: 'string', default: '0' },
      model: { type: 'string', default: 'V400m' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8443' },
      'keys-dir': { type: 'string', default: '.tillbus/adyen-fleet' },
      'key-identifier': { type: 'string', default: 'tillbussim' },
      'key-version': { type: 'string', default: '1' },
      cloud: { type: 'boolean', default: false },
      faults: { type: 'string' },
      registry: { type: 'string' },
      stores: { type: 'string', default: '1' },
      record: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const keysDir = resolve(values['keys-dir']);
  const material = ensureMaterial(keysDir, values.cloud);
  const fleet = await startAdyenFleet({
    terminals: integer(values.terminals, '--terminals', 0),
    mobile: integer(values.mobile, '--mobile', 0),
    model: values.model,
    host: values.host,
    port: integer(values.port, '--port', 0, 65535),
    keyIdentifier: values['key-identifier'],
    keyVersion: integer(values['key-version'], '--key-version', 0),
    passphrase: material.passphrase,
    tls: material.tls,
    cloudApiKey: material.cloudApiKey,
    faults: values.faults ? readFaults(values.faults) : undefined,
    recordRequests: values.record,
  });
  if (values.registry) {
    writeRegistry(
      resolve(values.registry),
      fleet,
      keysDir,
      integer(values.stores, '--stores', 1),
      values.cloud,
    );
  }
  process.stdout.write(
    `adyen-fleet: ${fleet.terminalIds.length} terminals and ${fleet.mobileIds.length} Mobile SDK installations at ${fleet.nexoUrl}` +
      `${values.cloud ? ` (cloud stand-in at ${fleet.url}/sync)` : ''}; CA certificate ${fleet.caCertPath}\n`,
  );
  await stop;
  await fleet.close();
  process.stdout.write('adyen-fleet: closed\n');
}

function ensureMaterial(
  dir: string,
  cloud: boolean,
): { passphrase: string; tls: TlsMaterial; cloudApiKey?: string } {
  mkdirSync(dir, { recursive: true });
  const secret = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path))
      writeFileSync(path, randomBytes(24).toString('base64url'), { mode: 0o600 });
    return readFileSync(path, 'utf8').trim();
  };
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const tls =
    existsSync(certPath) && existsSync(keyPath)
      ? { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath }
      : generateSelfSignedCertificate(dir);
  return {
    passphrase: secret('passphrase'),
    tls,
    ...(cloud ? { cloudApiKey: secret('cloud-api-key') } : {}),
  };
}

function readFaults(path: string): Record<string, AdyenFaults> {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FaultError(`--faults ${path}: ${(error as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FaultError(`--faults ${path}: must be a JSON object keyed by POIID`);
  }
  return Object.fromEntries(
    Object.entries(input).map(([poiId, f]) => [poiId, parseAdyenFaults(f, poiId)]),
  );
}

/** The registry device-health seeds from (TERMINALS_FILE); secrets are file references into the keys dir. */
function writeRegistry(
  path: string,
  fleet: AdyenFleet,
  keysDir: string,
  stores: number,
  cloud: boolean,
): void {
  const terminals = fleet.poiIds.map((poiId, i) => ({
    terminalId: `adyen-${poiId.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    vendor: 'adyen',
    vendorId: poiId,
    storeId: `store-${String((i % stores) + 1).padStart(3, '0')}`,
    labels: { simulator: 'adyen-fleet' },
    connection: cloud
      ? {
          kind: 'adyen-cloud',
          apiKeyRef: `file:${join(keysDir, 'cloud-api-key')}`,
          merchantAccount: 'TillbusSimulatorPOS',
        }
      : {
          kind: 'adyen-local',
          url: fleet.nexoUrl,
          keyIdentifier: fleet.security.keyIdentifier,
          passphraseRef: `file:${join(keysDir, 'passphrase')}`,
          keyVersion: fleet.security.keyVersion,
        },
  }));
  writeFileSync(
    path,
    extname(path) === '.json' ? JSON.stringify({ terminals }, null, 2) : stringify({ terminals }),
  );
  process.stdout.write(`adyen-fleet: wrote ${terminals.length} registry entries to ${path}\n`);
}

function integer(text: string, name: string, min: number, max = 1_000_000): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function untilSignal(): Promise<void> {
  return new Promise((resolveSignal) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveSignal();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
