import { Injectable } from '@nestjs/common';
import { EdcError } from '@tillbus/contracts';
import { JsonLogger } from '@tillbus/observability';
import { BRIDGE_JOURNAL_VERSION } from '@tillbus/protocols-kicc';
import { EdcMetrics } from '../metrics';
import { JournalLink, type JournalSubject } from './journal-link';
import { BridgePresence } from './presence';

/** How long a probe waits: a bridge that is really gone costs a submit this much before BRIDGE_OFFLINE. */
export const PROBE_TIMEOUT_MS = 1_000;
/** After a probe no bridge answered, its bridge is refused at once for this long, not probed by every submit. */
export const PROBE_COOLDOWN_MS = 5_000;

/**
 * Presence that follows the link, not only the heartbeats: a bridge whose heartbeats were lost on a link that came
 * back (a WAN cut its own connection never saw) is still there. Before a submit is refused BRIDGE_OFFLINE, a v2
 * bridge is asked its journal about the submit's requestId without closing it (docs/bridge-protocol.md §12); any
 * answer proves the round trip, and the bridge counts as heard. A v1 bridge, or one never heard, is refused as before.
 */
@Injectable()
export class BridgeProbe {
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly silentAt = new Map<string, number>();

  constructor(
    private readonly journals: JournalLink,
    private readonly presence: BridgePresence,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** True when `refusal` was a stale BRIDGE_OFFLINE: the bridge answered, so the submit goes ahead. */
  async overrules(refusal: EdcError, command: JournalSubject): Promise<boolean> {
    const presence = this.presence.device(command.deviceId);
    if (refusal.code !== 'BRIDGE_OFFLINE' || presence.state !== 'offline' || !presence.bridgeId)
      return false;
    if (!this.presence.speaks(command.deviceId, BRIDGE_JOURNAL_VERSION)) return false;
    const bridgeId = presence.bridgeId;
    const silentAt = this.silentAt.get(bridgeId);
    if (silentAt !== undefined && Date.now() - silentAt < PROBE_COOLDOWN_MS) return false;
    let probe = this.inFlight.get(bridgeId);
    if (!probe) {
      probe = this.probe(bridgeId, command).finally(() => this.inFlight.delete(bridgeId));
      this.inFlight.set(bridgeId, probe);
    }
    return probe;
  }

  private async probe(bridgeId: string, command: JournalSubject): Promise<boolean> {
    const answer = await this.journals.ask(command, { timeoutMs: PROBE_TIMEOUT_MS, close: false });
    const answered = answer.kind === 'answer';
    this.metrics.bridgeProbes.inc({ result: answered ? 'answered' : 'silent' });
    if (!answered) {
      this.silentAt.set(bridgeId, Date.now());
      return false;
    }
    this.silentAt.delete(bridgeId);
    this.presence.answered(command.deviceId);
    this.logger.event('info', 'bridge answered a probe after its heartbeats went quiet', {
      bridgeId,
      deviceId: command.deviceId,
    });
    return true;
  }
}
