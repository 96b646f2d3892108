import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, integerOption, portOption, untilStopSignal } from '../shared/cli';
import { merchantOptions, readConfigFile } from './config-file';
import { parseFaultFlag, parseFaultSpec, INTELLA_FAULTS, type IntellaFaultSpec } from './faults';
import {
  startIntellaSimulator,
  type IntellaSimulator,
  type IntellaSimulatorOptions,
} from './simulator';

export const HELP = `intella Scan2Pay EasyCard simulator: DeviceQuery, SignOn and Settlement behind the encrypted envelope.

usage: simulators intella [options]

  --port N                    listen port (default 8088; 0 picks a free one)
  --host ADDR                 listen address (default 127.0.0.1)
  --path PATH                 intella endpoint path (default /allpaypass/api/general)
  --config FILE               JSON or YAML: { port, host, path, iv, merchants: [{ mchId, tradePassword |
                              tradePasswordEnv, iv, readers: [ids] | readerCount, readerStart }], faults: [...],
                              deviceListField, deviceListFormat, deviceListIdField, enforceSettlement }
  --mch-id ID                 one merchant (when no --config): its MchId (default SIMMCH001)
  --trade-password-env NAME   ... its trade password, read from this environment variable
  --trade-password TEXT       ... or given directly (demo only: visible in ps)
  --readers N                 ... its reader count (default 10), ids 0130xxxx from --reader-start (default 1)
  --reader-start N
  --iv TEXT                   16-character IV (default: random, printed at start)
  --private-key-file FILE     intella's RSA private key, PEM (default: a fresh 2048-bit pair)
  --public-key-out FILE       write the public key (PEM) here for the client's configuration
  --device-list-field NAME    DeviceQuery Data field listing the readers (default DeviceList)
  --device-list-format F      objects | strings | json-text (default objects)
  --device-list-id-field NAME with objects: the id field (default DeviceId)
  --enforce-settlement        answer 010117 to a reader whose earlier business day is not settled
  --fault SPEC                repeatable: kind[,service=SignOn][,mch=ID][,device=ID][,times=N][,delay=MS]
  --clock-rate R              simulated ms per real ms (default 1); needs --clock-epoch-ms when not 1
  --clock-epoch-ms MS         where the accelerated clock starts
  --clock-offset-file FILE    ms added to now, re-read when the file changes (tests jump time with it)
  --log-level L               error | warn | info | debug (default info)
  --help                      this text

fault kinds:
${Object.entries(INTELLA_FAULTS)
  .map(([kind, what]) => `  ${kind.padEnd(18)} ${what}`)
  .join('\n')}

control API (JSON) under /_control: GET state, GET counters, POST counters/reset, GET public-key,
GET issued-keys, GET|POST|DELETE faults, DELETE faults/<id>, POST readers {mchId, deviceId},
DELETE readers/<deviceId>.  See apps/simulators/src/intella/README.md.
`;

export { CliError };

/** An optional whole-number option: undefined when it is not given. */
function wholeNumber(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : integerOption(value, flag, 0);
}

/** Parses the command line (and the optional config file) into simulator options. */
export function parseCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { help: true } | { help: false; options: IntellaSimulatorOptions; publicKeyOut?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        path: { type: 'string' },
        config: { type: 'string' },
        'mch-id': { type: 'string' },
        'trade-password-env': { type: 'string' },
        'trade-password': { type: 'string' },
        readers: { type: 'string' },
        'reader-start': { type: 'string' },
        iv: { type: 'string' },
        'private-key-file': { type: 'string' },
        'public-key-out': { type: 'string' },
        'device-list-field': { type: 'string' },
        'device-list-format': { type: 'string' },
        'device-list-id-field': { type: 'string' },
        'enforce-settlement': { type: 'boolean' },
        fault: { type: 'string', multiple: true },
        'clock-rate': { type: 'string' },
        'clock-epoch-ms': { type: 'string' },
        'clock-offset-file': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}; see --help`);
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const file = v.config ? readConfigFile(v.config) : undefined;
  const merchants = file
    ? file.merchants.map((merchant) => merchantOptions(merchant, env))
    : [
        merchantOptions(
          {
            mchId: v['mch-id'] ?? 'SIMMCH001',
            tradePassword: v['trade-password'],
            tradePasswordEnv: v['trade-password-env'],
          },
          env,
        ),
      ].map((merchant) => ({
        ...merchant,
        readerCount: wholeNumber(v.readers, '--readers') ?? 10,
        readerStart: wholeNumber(v['reader-start'], '--reader-start') ?? 1,
      }));
  if (merchants.length === 0) throw new CliError('configure at least one merchant');
  let faults: IntellaFaultSpec[];
  try {
    faults = [
      ...(file?.faults ?? []).map((fault) => parseFaultSpec(fault)),
      ...(v.fault ?? []).map(parseFaultFlag),
    ];
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const format = v['device-list-format'] ?? file?.deviceListFormat;
  if (format !== undefined && !['objects', 'strings', 'json-text'].includes(format))
    throw new CliError('--device-list-format must be objects, strings or json-text');
  const level = v['log-level'] ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(level))
    throw new CliError('--log-level must be error, warn, info or debug');
  let privateKey: string | undefined;
  if (v['private-key-file']) {
    try {
      privateKey = readFileSync(v['private-key-file'], 'utf8');
    } catch (error) {
      throw new CliError(`cannot read --private-key-file: ${(error as Error).message}`);
    }
  }
  const rate = v['clock-rate'] !== undefined ? Number(v['clock-rate']) : undefined;
  if (rate !== undefined && !(rate > 0)) throw new CliError('--clock-rate must be above 0');
  return {
    help: false,
    publicKeyOut: v['public-key-out'],
    options: {
      port: (v.port === undefined ? undefined : portOption(v.port)) ?? file?.port ?? 8088,
      host: v.host ?? file?.host,
      path: v.path ?? file?.path,
      iv: v.iv ?? file?.iv,
      privateKey,
      merchants,
      deviceListField: v['device-list-field'] ?? file?.deviceListField,
      deviceListFormat: format as IntellaSimulatorOptions['deviceListFormat'],
      deviceListIdField: v['device-list-id-field'] ?? file?.deviceListIdField,
      enforceSettlement: v['enforce-settlement'] ?? file?.enforceSettlement ?? false,
      faults,
      clock: {
        rate,
        epochMs: wholeNumber(v['clock-epoch-ms'], '--clock-epoch-ms'),
        offsetFile: v['clock-offset-file'],
      },
      logLevel: level as IntellaSimulatorOptions['logLevel'],
    },
  };
}

/**
 * `simulators intella [options]`: runs until SIGINT or SIGTERM, then closes cleanly. `until` replaces the signals
 * (tests run the CLI in-process).
 */
export async function main(argv: string[], until?: Promise<unknown>): Promise<void> {
  let cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (cli.help) {
    process.stdout.write(HELP);
    return;
  }
  let simulator: IntellaSimulator;
  try {
    simulator = await startIntellaSimulator(cli.options);
  } catch (error) {
    process.stderr.write(`intella simulator failed to start: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  if (cli.publicKeyOut) writeFileSync(cli.publicKeyOut, simulator.publicKeyPem);
  // An IV the operator chose is configuration they already hold: only one generated here is printed, once.
  const chosenIv = new Set(
    cli.options.merchants.filter((m) => (m.iv ?? cli.options.iv) !== undefined).map((m) => m.mchId),
  );
  process.stdout.write(
    JSON.stringify({
      msg: 'intella simulator listening',
      url: simulator.url,
      control: simulator.controlUrl,
      merchants: Object.entries(simulator.ivs).map(([mchId, iv]) => ({
        mchId,
        ...(chosenIv.has(mchId) ? {} : { generatedIv: iv }),
        readers: simulator.readers().filter((reader) => reader.mchId === mchId).length,
      })),
      publicKeyFile: cli.publicKeyOut,
    }) + '\n',
  );
  await (until ?? untilStopSignal());
  await simulator.close();
  process.stdout.write(JSON.stringify({ msg: 'intella simulator stopped' }) + '\n');
}
