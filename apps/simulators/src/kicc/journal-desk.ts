import type { Msg } from '@nats-io/transport-node';
import {
  BRIDGE_JOURNAL_VERSION,
  bridgeDedupeKey,
  parseBridgeMessage,
  type BridgeJournalState,
  type BridgeMessage,
  type BridgeResult,
} from '@tillbus/protocols-kicc';
import type { SimDevice } from './bridge-model';
import type { SimRuntime } from './runtime';

/**
 * A v2 bridge's answer to "what became of requestId X?" (docs/bridge-protocol.md §12), from its dedupe store alone:
 * the SDK is not asked. A query that closes an unknown requestId leaves an entry that refuses the command later.
 */
export class JournalDesk {
  constructor(private readonly runtime: SimRuntime) {}

  onQuery(device: SimDevice, msg: Msg): void {
    let query: BridgeMessage;
    try {
      query = parseBridgeMessage(msg.data, { subject: msg.subject });
    } catch {
      return; // unreadable: no answer, and the asker goes on without the journal
    }
    if (query.type !== 'journal_query' || query.deviceId !== device.id) return;
    this.runtime.counters.journalQueries += 1;
    const bridge = device.bridge;
    const key = bridgeDedupeKey(device.id, query.requestId);
    const entry = bridge.store.get(key);
    let state: BridgeJournalState = 'not_received';
    let result: BridgeResult | undefined;
    if (!entry && query.body.close) {
      bridge.store.set(key, {
        requestId: query.requestId,
        commandName: query.commandName,
        deviceId: device.id,
        nextSeq: 1,
        published: [],
        closed: true,
      });
    } else if (entry && !entry.closed) {
      const stored = entry.published.find((message) => message.type === 'result');
      state = stored ? 'finished' : 'executing';
      if (stored) result = JSON.parse(stored.data) as BridgeResult;
    }
    const answer: BridgeMessage = {
      v: BRIDGE_JOURNAL_VERSION,
      type: 'journal',
      deviceId: device.id,
      requestId: query.requestId,
      commandName: query.commandName,
      sentAt: this.runtime.now(),
      body: { state, journalSince: bridge.startedAt, ...(result ? { result } : {}) },
    };
    try {
      msg.respond(this.runtime.encode(answer));
    } catch {
      // a result a misbehaving device stored does not encode: no answer, as from a bridge that cannot tell
    }
  }
}
