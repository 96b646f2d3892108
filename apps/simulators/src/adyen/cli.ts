import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  fleetCliOptions,
  integerOption,
  parseCommandLine,
  portOption,
  untilStopSignal,
} from '../shared/cli';
import { readFaultFile } from '../shared/faults';
import { storeIdFor, writeRegistryFile } from '../shared/registry-file';
import { parseAdyenFaults } from './faults';
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

export async function main(
  argv: string[],
  stop: Promise<unknown> = untilStopSignal(),
): Promise<void> {
  const values = parseCommandLine(
    argv,
    {
      ...fleetCliOptions({ port: '8443', keysDir: '.tillbus/adyen-fleet' }),
      terminals: { type: 'string', default: '5' },
      mobile: { type: 'string', default: '0' },
      model: { type: 'string', default: 'V400m' },
      'key-identifier': { type: 'string', default: 'tillbussim' },
      'key-version': { type: 'string', default: '1' },
      cloud: { type: 'boolean', default: false },
    },
    HELP,
  );
  if (!values) return;
  const keysDir = resolve(values['keys-dir']);
  const material = ensureMaterial(keysDir, values.cloud);
  const fleet = await startAdyenFleet({
    terminals: integerOption(values.terminals, '--terminals', 0, 1_000_000),
    mobile: integerOption(values.mobile, '--mobile', 0, 1_000_000),
    model: values.model,
    host: values.host,
    port: portOption(values.port),
    keyIdentifier: values['key-identifier'],
    keyVersion: integerOption(values['key-version'], '--key-version', 0, 1_000_000),
    passphrase: material.passphrase,
    tls: material.tls,
    cloudApiKey: material.cloudApiKey,
    faults: values.faults ? readFaultFile(values.faults, 'POIID', parseAdyenFaults) : undefined,
    recordRequests: values.record,
  });
  if (values.registry) {
    writeRegistry(
      resolve(values.registry),
      fleet,
      keysDir,
      integerOption(values.stores, '--stores', 1, 1_000_000),
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
    storeId: storeIdFor(i, stores),
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
  writeRegistryFile(path, terminals, 'adyen-fleet');
}
