import type {
  DiagnosisOutcome,
  HealthReason,
  HealthStatus,
  HealthVendor,
} from '@tillbus/result-codes';

/** What a diagnosis found, for people and dashboards; any field may be absent. */
export interface HealthDetails {
  /** One sentence for a person: the most severe reason's meaning, or what failed. */
  message?: string;
  error?: string;
  batteryLevel?: number;
  firmwareVersion?: string;
  printerStatus?: string;
  globalStatus?: string;
  communicationOk?: boolean;
  unconfirmedBatchCount?: number;
  hostReachable?: boolean;
  tamperStatus?: string;
  sdkExpiry?: string;
  attestationStatus?: string;
  resolvableIssues?: { name?: string; message?: string }[];
  offline?: Record<string, unknown>;
  /**
   * Mobile SDK offline right now (store-and-forward active): card payments are stored on the device and forwarded
   * to Adyen later, until this instant (`storeAndForwardStatus.expiresAt`, as sent).
   */
  storeAndForwardUntil?: string;
  /** True when that instant has passed: offline payments are no longer possible. */
  storeAndForwardEnded?: boolean;
  /** Values of closed vendor vocabularies this version does not know (reason UNRECOGNISED_VALUE), as received. */
  unrecognised?: { field: string; value: unknown }[];
  /** The answer's signed time minus our clock, when it is off by more than the window (reason CLOCK_SKEW). */
  clockSkewMs?: number;
}

/** Which terminal: tillbus's id for it, its vendor, the vendor's id for it, and its store. */
export interface TerminalIdentity {
  terminalId: string;
  vendor: HealthVendor;
  vendorId: string;
  storeId: string;
}

/** `tillbus.device-health.diagnose` (and the per-vendor subjects): a fresh diagnosis. */
export interface TerminalHealth extends TerminalIdentity {
  status: HealthStatus;
  reasons: HealthReason[];
  outcome: DiagnosisOutcome;
  details: HealthDetails;
  raw: Record<string, unknown>;
  /** When the terminal was diagnosed (ISO 8601). */
  checkedAt: string;
  /** When status or reasons last changed (ISO 8601). */
  changedAt: string;
  durationMs: number;
}

/** `tillbus.device-health.readiness`: the cached health, or UNKNOWN with STALE / NOT_YET_DIAGNOSED. */
export interface Readiness extends TerminalIdentity {
  status: HealthStatus;
  reasons: HealthReason[];
  stale: boolean;
  checkedAt?: string;
  ageMs?: number;
  details?: HealthDetails;
  /** Present when stale: what the last diagnosis said. */
  lastKnown?: { status: HealthStatus; reasons: HealthReason[]; checkedAt: string };
}

/** Published on `tillbus.events.terminal.health.<vendor>.<terminalId>` when status or reasons change. */
export interface TerminalHealthChanged extends TerminalIdentity {
  status: HealthStatus;
  reasons: HealthReason[];
  previous: { status: HealthStatus; reasons: HealthReason[]; checkedAt: string } | null;
  details: HealthDetails;
  checkedAt: string;
}

/** One row of `tillbus.device-health.terminals.list`: the registry entry (references only) and its health. */
export interface TerminalListEntry extends TerminalIdentity {
  labels: Record<string, string>;
  /** The connection: its `kind` and that kind's fields (URLs, key references; never a secret). */
  connection: { kind: string };
  createdAt: string;
  updatedAt: string;
  health: { status: HealthStatus; reasons: HealthReason[]; stale: boolean; checkedAt?: string };
}

/** `tillbus.device-health.terminals.list`: one page; ask again with `cursor: nextCursor` for the next. */
export interface TerminalListReply {
  terminals: TerminalListEntry[];
  nextCursor?: string;
}
