import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Metrics of edc-command. Every label is bounded: command names (4), outcomes (5), causes, results and error codes
 * from fixed lists; never a device, bridge or request id. The `in_doubt` and `bridges_connected` gauges are the
 * same on every replica (read from shared state and from heartbeats every replica receives): alert on `max()`.
 */
@Injectable()
export class EdcMetrics {
  readonly commands: Counter<'command' | 'outcome'>;
  readonly duration: Histogram<'command'>;
  readonly timeouts: Counter<'command' | 'cause'>;
  readonly busyRejections: Counter<'source'>;
  readonly rejections: Counter<'code'>;
  readonly recoveries: Counter<'result'>;
  readonly lateResults: Counter<'command' | 'outcome'>;
  readonly cancels: Counter<'result'>;
  readonly bridgeMessages: Counter<'type' | 'result'>;
  readonly bridgeUnrecognised: Counter<'type' | 'field'>;
  readonly anomalies: Counter<'kind'>;
  readonly adoptions: Counter<'reason'>;
  readonly eventPublishFailures: Counter;
  readonly settlements: Counter<'outcome'>;
  readonly settlementConflicts: Counter<'command'>;
  readonly baselines: Counter<'result'>;
  readonly inDoubt: Gauge;
  readonly bridgesConnected: Gauge;
  readonly bridgesOffline: Counter;
  readonly bridgeProbes: Counter<'result'>;
  readonly owned: Gauge;
  /** Set where BridgePresence is provided (app.module): how many bridges are connected right now. */
  countBridges: () => number = () => 0;
  /** Set by InDoubtIndex: how many commands are in doubt right now. */
  countInDoubt: () => number = () => 0;

  constructor(@Inject(Registry) registry: Registry) {
    const registers = [registry];
    this.commands = new Counter({
      name: 'tillbus_edc_command_commands_total',
      help: 'Commands that reached an outcome (SUCCESS, FAILED, RETRYABLE, UNKNOWN for in doubt, CONFIG_ERROR), by command; counted once, by the replica that wrote it.',
      labelNames: ['command', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tillbus_edc_command_duration_seconds',
      help: 'Time from acceptance to the first outcome of a command, by command.',
      labelNames: ['command'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    });
    this.timeouts = new Counter({
      name: 'tillbus_edc_command_timeouts_total',
      help: 'Commands whose result became unknown, by command and cause (deadline, bridge_lost, unknown_answer).',
      labelNames: ['command', 'cause'],
      registers,
    });
    this.busyRejections = new Counter({
      name: 'tillbus_edc_command_busy_rejections_total',
      help: 'Submits answered DEVICE_BUSY, by source (lock: another tillbus command holds the device; bridge: the device runs a command tillbus did not send).',
      labelNames: ['source'],
      registers,
    });
    this.rejections = new Counter({
      name: 'tillbus_edc_command_rejections_total',
      help: 'Submits refused with a typed error, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.recoveries = new Counter({
      name: 'tillbus_edc_command_recoveries_total',
      help: 'GetLastTransaction recoveries of unknown results, by result (succeeded, failed, in_doubt; retry counts an attempt that failed and will be repeated).',
      labelNames: ['result'],
      registers,
    });
    this.lateResults = new Counter({
      name: 'tillbus_edc_command_late_results_total',
      help: 'Results that arrived after the command had an outcome (in doubt, failed or cancelled) and changed it, by command and new outcome.',
      labelNames: ['command', 'outcome'],
      registers,
    });
    this.cancels = new Counter({
      name: 'tillbus_edc_command_cancels_total',
      help: 'CommandCancel results, by result (confirmed, refused, refused_card_read: refused by edc-command because the card was read, timed_out).',
      labelNames: ['result'],
      registers,
    });
    this.bridgeMessages = new Counter({
      name: 'tillbus_edc_command_bridge_messages_total',
      help: 'Messages from bridges, by type (event, result, heartbeat, ack) and result (applied, duplicate, gap, stale, unknown_command, parked, reapplied, parked_expired, invalid, card_data_refused).',
      labelNames: ['type', 'result'],
      registers,
    });
    this.bridgeUnrecognised = new Counter({
      name: 'tillbus_edc_command_bridge_unrecognised_values_total',
      help: 'Codes from bridges this version does not know (kept, reported, the message still read), by message type and field (a schema path, list indexes as []).',
      labelNames: ['type', 'field'],
      registers,
    });
    this.anomalies = new Counter({
      name: 'tillbus_edc_command_anomalies_total',
      help: 'Refused lifecycle transitions worth a look, by kind (refused_transition, contradicted: a success after failed or cancelled).',
      labelNames: ['kind'],
      registers,
    });
    this.adoptions = new Counter({
      name: 'tillbus_edc_command_adoptions_total',
      help: "Commands this replica took over, by reason (restart: its own after a restart; owner_lost: a dead replica's; unconfirmed_create: its own whose record write got no answer).",
      labelNames: ['reason'],
      registers,
    });
    this.eventPublishFailures = new Counter({
      name: 'tillbus_edc_command_event_publish_failures_total',
      help: 'Failed attempts to publish a public event to TILLBUS_EDC; the event is retried until the stream acks it.',
      registers,
    });
    this.settlements = new Counter({
      name: 'tillbus_edc_command_settlements_total',
      help: 'Commands in doubt an operator settled (tillbus edc settle), by outcome (SUCCESS, FAILED).',
      labelNames: ['outcome'],
      registers,
    });
    this.settlementConflicts = new Counter({
      name: 'tillbus_edc_command_settlement_conflicts_total',
      help: 'Device results that arrived after an operator settlement and disagree with it (kept on the record, never applied), by command.',
      labelNames: ['command'],
      registers,
    });
    this.baselines = new Counter({
      name: 'tillbus_edc_command_baselines_total',
      help: "GetLastTransaction reads before a payment whose device's last transaction was unknown, by result (transaction, none, unknown).",
      labelNames: ['result'],
      registers,
    });
    const countInDoubt = () => this.countInDoubt();
    this.inDoubt = new Gauge({
      name: 'tillbus_edc_command_in_doubt',
      help: 'Commands in doubt right now (result unknown after recovery; an operator must look), across all replicas.',
      registers,
      collect() {
        this.set(countInDoubt());
      },
    });
    const countBridges = () => this.countBridges();
    this.bridgesConnected = new Gauge({
      name: 'tillbus_edc_command_bridges_connected',
      help: 'Bridges whose last heartbeat is less than 3 intervals old.',
      registers,
      collect() {
        this.set(countBridges());
      },
    });
    this.bridgesOffline = new Counter({
      name: 'tillbus_edc_command_bridges_offline_total',
      help: 'Bridges that went offline (3 intervals without a heartbeat while this replica heard the bus); every replica counts each: alert on max().',
      registers,
    });
    this.bridgeProbes = new Counter({
      name: 'tillbus_edc_command_bridge_probes_total',
      help: 'Journal probes of a v2 bridge whose heartbeats went quiet, sent before refusing BRIDGE_OFFLINE; result: answered (the command went ahead), silent (refused).',
      labelNames: ['result'],
      registers,
    });
    this.owned = new Gauge({
      name: 'tillbus_edc_command_owned_commands',
      help: 'Commands in flight or recovering whose timers this replica runs.',
      registers,
    });
  }
}
