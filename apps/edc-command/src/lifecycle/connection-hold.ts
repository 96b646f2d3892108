import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { BridgeInbox } from '../commands/bridge-inbox';
import { OwnerLeases } from '../ownership/owner-leases';
import { CancelDeadlines } from '../recovery/cancel-deadlines';
import { CommandTimers } from '../recovery/command-timers';
import { BridgePresence } from '../vendor/presence';

/** The longest a reconnect waits for the bridge stream to be read before the held timers run again. */
export const CATCH_UP_MAX_MS = 5_000;

/**
 * This replica's own NATS connection, as its timers see it. Cut off, it hears no result and no heartbeat, so its
 * deadlines, card countdowns, cancel deadlines, presence-lost recoveries and owner sweeps are held, and the bridges
 * it knew online are not blamed for the silence. Back, it first reads what the bridge stream delivered meanwhile,
 * then re-arms the timers with the time they had left when the connection went.
 */
@Injectable()
export class ConnectionHold {
  /** When (on the service clock) the connection went; null while nothing is held. */
  private heldAt: number | null = null;
  /** Counts disconnects and reconnects, so a catch-up that another outage interrupted stops. */
  private generation = 0;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly presence: BridgePresence,
    private readonly inbox: BridgeInbox,
    private readonly timers: CommandTimers,
    private readonly cancelDeadlines: CancelDeadlines,
    private readonly leases: OwnerLeases,
    private readonly logger: JsonLogger,
  ) {}

  get held(): boolean {
    return this.heldAt !== null;
  }

  /** Follows the connection's status until it closes. */
  watch(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.disconnected();
        else if (status.type === 'reconnect')
          void this.reconnected().catch((error: unknown) =>
            this.logger.event('error', 'could not resume the held timers', { error }),
          );
      }
    })();
  }

  disconnected(): void {
    this.generation++;
    this.presence.disconnected();
    this.leases.disconnected();
    this.timers.hold();
    this.cancelDeadlines.hold();
    if (this.heldAt !== null) {
      // still held from an outage whose catch-up this one interrupted: that hold goes on
      this.logger.event('warn', 'NATS lost again before the held timers resumed; they stay held', {
        owned: this.timers.ownedCount(),
      });
      return;
    }
    this.heldAt = this.clock.now();
    this.logger.event('warn', 'command timers held while NATS is away', {
      owned: this.timers.ownedCount(),
    });
  }

  async reconnected(): Promise<void> {
    const generation = ++this.generation;
    this.presence.reconnected();
    this.leases.reconnected();
    this.timers.reconnected();
    this.cancelDeadlines.reconnected();
    void this.leases.renew().catch(() => undefined);
    const started = Date.now();
    const caughtUp = await this.inbox.caughtUp(
      CATCH_UP_MAX_MS,
      () => generation !== this.generation,
    );
    if (generation !== this.generation || this.heldAt === null) return;
    const heldMs = this.clock.now() - this.heldAt;
    this.heldAt = null;
    this.logger.event('info', 'command timers resume after the NATS outage', {
      heldMs,
      catchUpMs: Date.now() - started,
      caughtUp,
      owned: this.timers.ownedCount(),
    });
    this.cancelDeadlines.resume();
    await this.timers.resume();
  }
}
