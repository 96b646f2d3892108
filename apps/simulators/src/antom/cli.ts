import { join, resolve } from 'node:path';
import {
  fleetCliOptions,
  integerOption,
  parseCommandLine,
  portOption,
  untilStopSignal,
} from '../shared/cli';
import { readFaultFile } from '../shared/faults';
import { ensureRsaKeyPairs } from '../shared/key-files';
import { storeIdFor, writeRegistryFile } from '../shared/registry-file';
import { parseAntomFaults } from './faults';
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

export async function main(
  argv: string[],
  stop: Promise<unknown> = untilStopSignal(),
): Promise<void> {
  const values = parseCommandLine(
    argv,
    {
      ...fleetCliOptions({ port: '8081', keysDir: '.tillbus/antom-fleet' }),
      terminals: { type: 'string', default: '10' },
      'serial-prefix': { type: 'string', default: 'ANTOMSIM' },
    },
    HELP,
  );
  if (!values) return;
  const terminals = integerOption(values.terminals, '--terminals', 1, 1_000_000);
  const stores = integerOption(values.stores, '--stores', 1, 1_000_000);
  const port = portOption(values.port);
  const keysDir = resolve(values['keys-dir']);
  const keys = ensureRsaKeyPairs(keysDir, ['pos', 'terminal']);
  const faults = values.faults
    ? readFaultFile(values.faults, 'serial number', parseAntomFaults)
    : undefined;

  const fleet = await startAntomFleet({
    terminals,
    serialPrefix: values['serial-prefix'],
    host: values.host,
    port,
    terminalPrivateKey: keys.terminal.privateKey,
    posPublicKey: keys.pos.publicKey,
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

/** The registry device-health seeds from (TERMINALS_FILE): key references point at the PEM files. */
function writeRegistry(path: string, fleet: AntomFleet, keysDir: string, stores: number): void {
  const terminals = fleet.serials.map((serial, i) => ({
    terminalId: `antom-${serial}`,
    vendor: 'antom',
    vendorId: serial,
    storeId: storeIdFor(i, stores),
    labels: { simulator: 'antom-fleet' },
    connection: {
      kind: 'antom',
      baseUrl: fleet.url,
      privateKeyRef: `file:${join(keysDir, 'pos-private.pem')}`,
      terminalPublicKeyRef: `file:${join(keysDir, 'terminal-public.pem')}`,
    },
  }));
  writeRegistryFile(path, terminals, 'antom-fleet');
}
