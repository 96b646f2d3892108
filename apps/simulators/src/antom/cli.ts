import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { FaultError, parseAntomFaults, type AntomFaults } from './faults';
import { startAntomFleet, type AntomFleet } from './fleet';

const HELP = `antom-fleet: one HTTP server playing N Antom D-Store terminals (POST /v2/device/diagnosis, RSA256-signed)

options:
  --terminals <n>        how many terminals (default 10); serial numbers are <prefix>000001, <prefix>000002, ...
  --serial-prefix <s>    serial number prefix (default ANTOMSIM)
  --host <h>             listen address (default 127.0.0.1)
  --port <p>             listen port (default 8081; 0 picks a free one)
  --keys-dir <dir>       key pairs as PEM files: pos-private.pem, pos-public.pem, terminal-private.pem,
                         terminal-public.pem; missing ones are generated there (default .tillbus/antom-fleet)
  --faults <file>        JSON {"<serial>": {faults}} in place from the start (see README.md for the faults)
  --registry <file>      write a device-health terminal registry for this fleet (.yaml/.yml or .json)
  --stores <n>           spread the terminals over n store ids in that registry (default 1)
  --record               keep every diagnosis (terminal, time) for GET /_sim/records (tests, load checks)
  --help                 this text

Faults change at run time over HTTP: PUT/PATCH/DELETE /_sim/terminals/<serial>/faults, GET /_sim/counters.
`;

export async function main(argv: string[], stop: Promise<unknown> = untilSignal()): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      terminals: { type: 'string', default: '10' },
      'serial-prefix': { type: 'string', default: 'ANTOMSIM' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8081' },
      'keys-dir': { type: 'string', default: '.tillbus/antom-fleet' },
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
  const terminals = positiveInteger(values.terminals, '--terminals');
  const stores = positiveInteger(values.stores, '--stores');
  const port = portNumber(values.port);
  const keysDir = resolve(values['keys-dir']);
  const keys = ensureKeys(keysDir);
  const faults = values.faults ? readFaults(values.faults) : undefined;

  const fleet = await startAntomFleet({
    terminals,
    serialPrefix: values['serial-prefix'],
    host: values.host,
    port,
    terminalPrivateKey: keys.terminalPrivate,
    posPublicKey: keys.posPublic,
    faults,
    recordRequests: values.record,
  });
  if (values.registry) writeRegistry(resolve(values.registry), fleet, keysDir, stores);
  process.stdout.write(
    `antom-fleet: ${fleet.serials.length} terminals at ${fleet.url} (serials ${fleet.serials[0]}..${fleet.serials.at(-1)}); keys in ${keysDir}\n`,
  );
  await stop;
  await fleet.close();
  process.stdout.write('antom-fleet: closed\n');
}

function ensureKeys(dir: string): { terminalPrivate: string; posPublic: string } {
  mkdirSync(dir, { recursive: true });
  for (const who of ['pos', 'terminal']) {
    const privatePath = join(dir, `${who}-private.pem`);
    const publicPath = join(dir, `${who}-public.pem`);
    if (existsSync(privatePath) && existsSync(publicPath)) continue;
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(privatePath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    writeFileSync(publicPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return {
    terminalPrivate: readFileSync(join(dir, 'terminal-private.pem'), 'utf8'),
    posPublic: readFileSync(join(dir, 'pos-public.pem'), 'utf8'),
  };
}

function readFaults(path: string): Record<string, AntomFaults> {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FaultError(`--faults ${path}: ${(error as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FaultError(`--faults ${path}: must be a JSON object keyed by serial number`);
  }
  return Object.fromEntries(
    Object.entries(input).map(([serial, f]) => [serial, parseAntomFaults(f, serial)]),
  );
}

/** The registry device-health seeds from (TERMINALS_FILE): key references point at the PEM files. */
function writeRegistry(path: string, fleet: AntomFleet, keysDir: string, stores: number): void {
  const terminals = fleet.serials.map((serial, i) => ({
    terminalId: `antom-${serial}`,
    vendor: 'antom',
    vendorId: serial,
    storeId: `store-${String((i % stores) + 1).padStart(3, '0')}`,
    labels: { simulator: 'antom-fleet' },
    connection: {
      kind: 'antom',
      baseUrl: fleet.url,
      privateKeyRef: `file:${join(keysDir, 'pos-private.pem')}`,
      terminalPublicKeyRef: `file:${join(keysDir, 'terminal-public.pem')}`,
    },
  }));
  const document = { terminals };
  writeFileSync(
    path,
    extname(path) === '.json' ? JSON.stringify(document, null, 2) : stringify(document),
  );
  process.stdout.write(`antom-fleet: wrote ${terminals.length} registry entries to ${path}\n`);
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new Error(`${name} must be an integer from 1 to 1000000`);
  }
  return value;
}

function portNumber(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error('--port must be an integer from 0 to 65535');
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
