import { join, resolve } from 'node:path';
import { integerOption, parseCommandLine, portOption, untilStopSignal } from '../shared/cli';
import { ensureRsaKeyPairs } from '../shared/key-files';
import { checkFaults, DEFAULT_FAULTS, startDStoreSimulator, type NotifyAnswer } from './simulator';

const HELP = `dstore: the D-Store cloud. It calls the POS edge (order-reconciliation) with signed createOrder,
pushOrderChange and inquireOrderDetail requests, and receives notifyOrderChange, verifies it and answers by script.

options:
  --host <h>              listen address (default 127.0.0.1)
  --port <p>              listen port for notifyOrderChange and /_sim (default 8083; 0 picks a free one)
  --pos-url <url>         base URL of the POS edge (default http://127.0.0.1:8080)
  --client-id <id>        the Client-Id D-Store sends to the POS (default DSTORE-SIM)
  --pos-client-id <id>    the Client-Id the POS must send on notifyOrderChange (default: any)
  --keys-dir <dir>        PEM key pairs dstore-private.pem, dstore-public.pem, pos-private.pem, pos-public.pem;
                          missing ones are generated there (default .tillbus/dstore)
  --answers <list>        comma-separated answers to the next notifications: S, F, U, DROP, F:<CODE>, U:<CODE>
  --default-answer <a>    the answer once the list is used up (default S)
  --delay-ms <n>          wait before reading each notification
  --slow-ms <n>           wait before answering each notification
  --hold                  apply notifications but hold every answer until POST /_sim/release
  --duplicates <n>        send every call to the POS n extra times (each signed afresh)
  --bad-signature         sign answers with a key the POS does not know
  --unseen-fields         add fields the project has never seen to every message D-Store sends
  --help                  this text

Run-time control (JSON over HTTP on the same port): GET /_sim/state; POST /_sim/faults, /_sim/release, /_sim/reset,
/_sim/createOrder, /_sim/pushOrderChange, /_sim/inquireOrderDetail, /_sim/lost-notification, and full documented
messages: /_sim/order, /_sim/push-delivery, /_sim/push-items. See README.md.
`;

export async function main(
  argv: string[],
  stop: Promise<unknown> = untilStopSignal(),
): Promise<void> {
  const values = parseCommandLine(
    argv,
    {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8083' },
      'pos-url': { type: 'string', default: 'http://127.0.0.1:8080' },
      'client-id': { type: 'string', default: 'DSTORE-SIM' },
      'pos-client-id': { type: 'string' },
      'keys-dir': { type: 'string', default: '.tillbus/dstore' },
      answers: { type: 'string', default: '' },
      'default-answer': { type: 'string', default: 'S' },
      'delay-ms': { type: 'string', default: '0' },
      'slow-ms': { type: 'string', default: '0' },
      hold: { type: 'boolean', default: false },
      duplicates: { type: 'string', default: '0' },
      'bad-signature': { type: 'boolean', default: false },
      'unseen-fields': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    HELP,
  );
  if (!values) return;
  const faults = {
    ...DEFAULT_FAULTS,
    script: values.answers
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a.length > 0) as NotifyAnswer[],
    defaultAnswer: values['default-answer'] as NotifyAnswer,
    dropNextFor: [],
    delayMs: integerOption(values['delay-ms'], '--delay-ms', 0),
    slowMs: integerOption(values['slow-ms'], '--slow-ms', 0),
    hold: values.hold,
    duplicates: integerOption(values.duplicates, '--duplicates', 0),
    badSignature: values['bad-signature'],
    unseenFields: values['unseen-fields'],
  };
  checkFaults(faults);
  const port = portOption(values.port);
  const keysDir = resolve(values['keys-dir']);
  // Both key pairs, so the POS side can be pointed at the same files.
  const keys = ensureRsaKeyPairs(keysDir, ['dstore', 'pos']);
  const simulator = await startDStoreSimulator({
    host: values.host,
    port,
    posUrl: values['pos-url'],
    clientId: values['client-id'],
    ...(values['pos-client-id'] ? { posClientId: values['pos-client-id'] } : {}),
    privateKey: keys.dstore.privateKey,
    posPublicKey: keys.pos.publicKey,
    faults,
  });
  process.stdout.write(
    `dstore: notifyOrderChange at ${simulator.url}/v2/pos/notifyOrderChange, calling ${values['pos-url']}; keys in ${keysDir}\n` +
      `  order-reconciliation: DSTORE_BASE_URL=${simulator.url} DSTORE_CLIENT_IDS=${values['client-id']} ` +
      `DSTORE_PUBLIC_KEY_REF=file:${join(keysDir, 'dstore-public.pem')} POS_PRIVATE_KEY_REF=file:${join(keysDir, 'pos-private.pem')}\n`,
  );
  await stop;
  await simulator.close();
  process.stdout.write('dstore: closed\n');
}
