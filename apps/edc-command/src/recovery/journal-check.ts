import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import { BRIDGE_JOURNAL_VERSION } from '@tillbus/protocols-kicc';
import { CommandWriter } from '../commands/command-writer';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { EdcMetrics } from '../metrics';
import type { StoredCommand } from '../record/model';
import { JournalLink } from '../vendor/journal-link';
import { BridgePresence } from '../vendor/presence';

/**
 * Before a GetLastTransaction, asks a v2 bridge's journal what became of a command whose result is unknown
 * (docs/bridge-protocol.md §12): "never received" settles it as not started, a stored result is applied as the
 * device's. A v1 bridge is not asked: its commands recover exactly as before.
 */
@Injectable()
export class JournalCheck {
  constructor(
    private readonly journals: JournalLink,
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    private readonly writer: CommandWriter,
    private readonly presence: BridgePresence,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** True when the journal settled the command (it left timed_out); false: go on with GetLastTransaction. */
  async settles(key: string, record: StoredCommand): Promise<boolean> {
    if (!this.presence.speaks(record.deviceId, BRIDGE_JOURNAL_VERSION)) return false;
    const answer = await this.journals.ask(record, {
      timeoutMs: this.config.EDC_ACK_TIMEOUT_MS,
      close: true,
    });
    if (answer.kind === 'none') {
      if (answer.unrecognisedState !== undefined)
        this.metrics.bridgeUnrecognised.inc({ type: 'journal', field: 'body.state' });
      this.logger.event('info', 'the bridge journal did not settle a command; asking the device', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        reason: answer.reason,
        ...(answer.unrecognisedState ? { state: answer.unrecognisedState } : {}),
      });
      return false;
    }
    const { state, journalSince, result } = answer.journal.body;
    const written =
      state === 'not_received'
        ? await this.writer.apply(key, { type: 'journal_not_received', journalSince })
        : state === 'finished' && result
          ? await this.writer.apply(key, { type: 'bridge', message: result })
          : null;
    return (
      written?.record !== null &&
      written?.record !== undefined &&
      written.record.lifecycle.phase !== 'timed_out'
    );
  }
}
