import { integerOption, parseCommandLine, untilStopSignal } from '../shared/cli';
import {
  KICC_SIM_CONTROL_SUBJECT,
  startKiccBridgeSimulator,
  type BridgeSpec,
  type DeviceFaults,
} from './simulator';
import { TIMING_PROFILES } from './scenarios';
import { BRIDGE_MISBEHAVIOUR_LIST, isBridgeMisbehaviour } from './misbehaviour';

const HELP = `kicc-bridge: KICC bridges with their EDC devices, over the bus (docs/bridge-protocol.md)

options:
  --nats <url>              NATS server (default $NATS_URL or nats://127.0.0.1:4222); credentials from
                            $NATS_USER and $NATS_PASSWORD; replies on $NATS_INBOX_PREFIX (default _INBOX_<user>);
                            a tls:// server is verified with $NATS_TLS_CA_FILE (or Node's trusted CAs)
  --bridges <n>             number of bridges (default 1)
  --devices <n>             devices per bridge, at most 64 (default 1)
  --prefix <name>           ids are <prefix>-b<i> and <prefix>-b<i>-d<j> (default sim)
  --bridge <id>=<devices>   instead: a bridge with these ids, e.g. cert0001=cert0001-edc1,cert0001-edc2
                            (repeatable)
  --timing <profile>        realistic | fast | instant (default realistic)
  --heartbeat-ms <ms>       heartbeat interval, 1000-60000 (default 5000)
  --glt-request-id          GetLastTransaction answers carry the requestId (the seed's sample does not)
  --hold-at <event>         every device stops after this event until released over the control subject
  --protocol-versions <l>   versions the bridges speak, e.g. 1 (a bridge without the journal) (default 1,2)
  --drop-commands <n>       every device's next n Purchase/PurchaseCancel messages are lost before the bridge
  --drop-results <n>        every device loses its next n results
  --delay-result-ms <ms>    every device publishes its results this late
  --offline <bridgeId>      start this bridge offline (repeatable)
  --misbehave <mode>        every device breaks one protocol rule, for the bridge certifier (repeatable):
                            ${BRIDGE_MISBEHAVIOUR_LIST.join(', ')}
  --control-subject <s>     serve control requests here (default ${KICC_SIM_CONTROL_SUBJECT})
  --skip-codec-checks       skip the protocol codec's checks on what it sends and receives (benchmarks: measure
                            the service, not the simulator)
  --help                    this text

Faults can be changed at run time with requests on ${KICC_SIM_CONTROL_SUBJECT} (see README.md).
Failure codes by amount: business failure i of the seed at 900+i KRW, command failure i at 950+i KRW.
`;

export async function main(argv: string[]): Promise<void> {
  const values = parseCommandLine(
    argv,
    {
      nats: { type: 'string' },
      bridges: { type: 'string', default: '1' },
      devices: { type: 'string', default: '1' },
      prefix: { type: 'string', default: 'sim' },
      timing: { type: 'string', default: 'realistic' },
      'heartbeat-ms': { type: 'string', default: '5000' },
      'glt-request-id': { type: 'boolean', default: false },
      'protocol-versions': { type: 'string', default: '1,2' },
      'drop-commands': { type: 'string' },
      'hold-at': { type: 'string' },
      'drop-results': { type: 'string' },
      'delay-result-ms': { type: 'string' },
      offline: { type: 'string', multiple: true },
      bridge: { type: 'string', multiple: true },
      misbehave: { type: 'string', multiple: true },
      'control-subject': { type: 'string' },
      'skip-codec-checks': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    HELP,
  );
  if (!values) return;
  const timing = values.timing as keyof typeof TIMING_PROFILES;
  if (!(timing in TIMING_PROFILES))
    throw new Error(`--timing must be one of ${Object.keys(TIMING_PROFILES).join(', ')}`);
  const bridges = integerOption(values.bridges, '--bridges', 1);
  const devicesPerBridge = integerOption(values.devices, '--devices', 1);
  if (devicesPerBridge > 64) throw new Error('--devices: a bridge drives at most 64 devices');
  const faults: DeviceFaults = {};
  if (values['hold-at']) faults.holdAt = values['hold-at'] as DeviceFaults['holdAt'];
  if (values['drop-results'])
    faults.dropResults = integerOption(values['drop-results'], '--drop-results', 1);
  if (values['drop-commands'])
    faults.dropCommands = integerOption(values['drop-commands'], '--drop-commands', 1);
  if (values['delay-result-ms'])
    faults.delayResultMs = integerOption(values['delay-result-ms'], '--delay-result-ms', 1);
  for (const mode of values.misbehave ?? []) {
    if (!isBridgeMisbehaviour(mode))
      throw new Error(`--misbehave must be one of ${BRIDGE_MISBEHAVIOUR_LIST.join(', ')}`);
  }
  if (values.misbehave?.length) faults.misbehave = values.misbehave as DeviceFaults['misbehave'];
  const prefix = values.prefix ?? 'sim';
  const named = values.bridge?.map(namedBridge);
  const deviceIds = named
    ? named.flatMap((spec) => spec.devices)
    : Array.from({ length: bridges }, (_, b) =>
        Array.from({ length: devicesPerBridge }, (_, d) => `${prefix}-b${b}-d${d}`),
      ).flat();
  const sim = await startKiccBridgeSimulator({
    natsUrl: values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    natsUser: process.env.NATS_USER || undefined,
    natsPassword: process.env.NATS_PASSWORD || undefined,
    natsInboxPrefix: process.env.NATS_INBOX_PREFIX || undefined,
    natsCaFile: process.env.NATS_TLS_CA_FILE || undefined,
    ...(named ? { bridges: named } : { generate: { bridges, devicesPerBridge, prefix } }),
    timing,
    heartbeatIntervalMs: integerOption(values['heartbeat-ms'], '--heartbeat-ms', 1),
    lastTransactionRequestId: values['glt-request-id'],
    protocolVersions: (values['protocol-versions'] ?? '1,2')
      .split(',')
      .map((v) => integerOption(v, '--protocol-versions', 1)),
    faults:
      Object.keys(faults).length > 0
        ? Object.fromEntries(deviceIds.map((id) => [id, faults]))
        : undefined,
    offline: values.offline,
    controlSubject: values['control-subject'],
    skipCodecChecks: values['skip-codec-checks'],
  });
  process.stdout.write(
    `kicc-bridge simulator ready: ${sim.bridgeIds.length} bridges, ${sim.deviceIds.length} devices; control on ${values['control-subject'] ?? KICC_SIM_CONTROL_SUBJECT}\n`,
  );
  await untilStopSignal();
  await sim.close();
}

// `node -r @swc-node/register cli.ts ...` runs it directly (benchmarks and tests spawn it this way)
if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

/** `--bridge cert0001=cert0001-edc1,cert0001-edc2`; the simulator checks the ids. */
function namedBridge(text: string): BridgeSpec {
  const [bridgeId, devices] = text.split('=');
  if (!bridgeId || !devices)
    throw new Error('--bridge must look like <bridgeId>=<deviceId>[,<deviceId>...]');
  return { bridgeId, devices: devices.split(',') };
}
