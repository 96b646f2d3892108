import {
  type HealthDetails,
  type Readiness,
  SUBJECTS,
  type TerminalHealth,
  type TerminalListEntry,
  type TerminalListReply,
} from '@tillbus/contracts';
import {
  ANTOM_DIAGNOSIS_CODES,
  HEALTH_STATUSES,
  HEALTH_VENDORS,
  isAntomDiagnosisCode,
} from '@tillbus/result-codes';
import type { CommandSpec } from '../cli';
import { UsageError } from '../errors';
import { block, duration, relative, table } from '../format';
import { hintNotFound, parseCount } from './common';

const NOT_FOUND_HINT =
  '`tillbus terminals list` shows the registered terminals (ids look like antom-ANTOMSIM000001 or adyen-V400m-000000001)';

export const TERMINAL_COMMANDS: CommandSpec[] = [
  {
    group: 'terminals',
    verb: 'list',
    args: [],
    options: {
      vendor: { type: 'string', description: `only this vendor: ${HEALTH_VENDORS.join(', ')}` },
      store: { type: 'string', description: 'only this store id' },
      status: { type: 'string', description: `only this status: ${HEALTH_STATUSES.join(', ')}` },
      limit: {
        type: 'string',
        description: 'at most this many (default: every terminal, 1000 per request)',
      },
    },
    summary: 'the registered terminals with their health, from the shared cache',
    run: async (ctx, { options }) => {
      const filter: Record<string, unknown> = {};
      if (options.vendor !== undefined)
        filter.vendor = oneOf(options.vendor, HEALTH_VENDORS, '--vendor');
      if (typeof options.store === 'string') filter.storeId = options.store;
      if (options.status !== undefined)
        filter.status = oneOf(String(options.status).toUpperCase(), HEALTH_STATUSES, '--status');
      const max =
        typeof options.limit === 'string'
          ? parseCount(options.limit, '--limit', 1, 100_000)
          : Infinity;
      const rows: TerminalListEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await ctx.bus.request<TerminalListReply>(SUBJECTS.deviceHealth.terminalsList, {
          ...filter,
          limit: Math.min(1000, max - rows.length),
          ...(cursor ? { cursor } : {}),
        });
        rows.push(...page.terminals);
        cursor = page.nextCursor;
      } while (cursor && rows.length < max);
      const now = ctx.now();
      const counts = HEALTH_STATUSES.map(
        (s) => `${rows.filter((r) => r.health.status === s).length} ${s}`,
      ).join(', ');
      const text = [
        table(rows, [
          { header: 'TERMINAL', value: (r) => r.terminalId },
          { header: 'VENDOR', value: (r) => r.vendor },
          { header: 'STORE', value: (r) => r.storeId },
          {
            header: 'STATUS',
            value: (r) => `${r.health.status}${r.health.stale ? ' (stale)' : ''}`,
          },
          { header: 'REASONS', value: (r) => r.health.reasons },
          { header: 'CHECKED', value: (r) => relative(r.health.checkedAt, now) },
        ]),
        '',
        `${rows.length} terminals: ${counts}`,
      ].join('\n');
      return { data: rows, text };
    },
  },
  {
    group: 'terminals',
    verb: 'readiness',
    args: ['terminalId'],
    summary:
      'can this terminal take a payment now? (the cached answer; the terminal is not called)',
    run: async (ctx, { args }) => {
      const readiness = await ctx.bus
        .request<Readiness>(SUBJECTS.deviceHealth.readiness, { terminalId: args.terminalId })
        .catch(hintNotFound(NOT_FOUND_HINT));
      const now = ctx.now();
      const text = block([
        [
          'terminal',
          `${readiness.terminalId} (${readiness.vendor} ${readiness.vendorId}, store ${readiness.storeId})`,
        ],
        ['status', `${readiness.status}${readiness.stale ? ' (stale: no recent diagnosis)' : ''}`],
        ['reasons', readiness.reasons],
        ['why', readiness.details?.message ?? readiness.details?.error],
        ...vendorFacts(readiness.vendor, readiness.details ?? {}),
        ...offlineFacts(readiness.details ?? {}),
        [
          'checked',
          readiness.checkedAt
            ? `${readiness.checkedAt} (${relative(readiness.checkedAt, now)})`
            : 'never',
        ],
        [
          'last known',
          readiness.lastKnown
            ? `${readiness.lastKnown.status} ${readiness.lastKnown.reasons.join(', ')} at ${readiness.lastKnown.checkedAt}`
            : undefined,
        ],
      ]);
      return { data: readiness, text };
    },
  },
  {
    group: 'terminals',
    verb: 'diagnose',
    args: ['terminalId'],
    summary: 'diagnose a terminal now, through its vendor protocol, and show everything it said',
    run: async (ctx, { args }) => {
      const health = await ctx.bus
        .request<TerminalHealth>(
          SUBJECTS.deviceHealth.diagnose,
          { terminalId: args.terminalId },
          ctx.bus.longTimeout(15_000),
        )
        .catch(hintNotFound(NOT_FOUND_HINT));
      const d = health.details ?? {};
      const text = block([
        [
          'terminal',
          `${health.terminalId} (${health.vendor} ${health.vendorId}, store ${health.storeId})`,
        ],
        ['status', health.status],
        ['reasons', health.reasons],
        ['why', d.message ?? d.error],
        ...vendorFacts(health.vendor, d, health.raw),
        ['exchange', `${health.outcome} in ${duration(health.durationMs)}`],
        ['checked', health.checkedAt],
        ['status since', health.changedAt],
        ['printer', d.printerStatus],
        ['global status', d.globalStatus],
        [
          'communication',
          d.communicationOk === undefined ? undefined : d.communicationOk ? 'OK' : 'NOT OK',
        ],
        ['battery', d.batteryLevel === undefined ? undefined : `${d.batteryLevel}%`],
        ['unconfirmed batches', d.unconfirmedBatchCount],
        ['host reachable', d.hostReachable],
        ['tamper status', d.tamperStatus],
        ['firmware', d.firmwareVersion],
        ['SDK expiry', d.sdkExpiry],
        ['attestation', d.attestationStatus],
        ...offlineFacts(d),
        [
          'resolvable issues',
          d.resolvableIssues?.map((i) => [i.name, i.message].filter(Boolean).join(': ')),
        ],
      ]);
      return { data: health, text };
    },
  },
];

type Facts = [string, unknown][];

/**
 * What the vendor itself answered and what its code table says to do, which decide the case: Antom's
 * UNKNOWN_EXCEPTION ("call again") and PROCESS_FAIL ("do not retry") are both VENDOR_ERROR to tillbus.
 */
export function vendorFacts(
  vendor: string,
  details: HealthDetails,
  raw?: Record<string, unknown>,
): Facts {
  const result = (raw?.result ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  // a diagnosis carries the vendor's result; a readiness answer only its "CODE: message" summary
  const [summaryCode, ...summaryText] = (details.error ?? '').split(': ');
  const code = text(result.resultCode) ?? (details.error ? summaryCode : undefined);
  const message = text(result.resultMessage) ?? (summaryText.join(': ') || undefined);
  const status = text(result.resultStatus);
  const facts: Facts = [];
  if (details.message && details.error) facts.push(['vendor said', details.error]);
  if (vendor === 'antom' && code !== undefined && (code !== 'SUCCESS' || details.error)) {
    facts.push([
      'vendor result',
      `${code}${status ? ` (status ${status})` : ''}${message && !details.message ? `: ${message}` : ''}`,
    ]);
    if (isAntomDiagnosisCode(code) && code !== 'SUCCESS') {
      const row = ANTOM_DIAGNOSIS_CODES[code];
      facts.push(['vendor advice', `${row.message} ${row.action}`]);
    }
  }
  return facts;
}

/** A Mobile SDK's store-and-forward state, decoded (details.offline and storeAndForwardUntil). */
export function offlineFacts(details: HealthDetails): Facts {
  const offline = (details.offline ?? {}) as Record<string, unknown>;
  const facts: Facts = [];
  const until = details.storeAndForwardUntil ?? offline.offlineExpiresAt;
  if (offline.offlineActive === true) {
    facts.push([
      'store-and-forward',
      details.storeAndForwardEnded === true
        ? `ACTIVE, but its window closed at ${String(until)}: offline payments are no longer possible`
        : `ACTIVE: card payments are stored on the device and forwarded to Adyen later${until ? `, until ${String(until)}` : ''}`,
    ]);
  } else if (offline.offlineAvailable !== undefined || offline.offlineActive === false) {
    facts.push([
      'store-and-forward',
      `${offline.offlineActive === false ? 'not active' : 'state not reported'}, ${offline.offlineAvailable === true ? 'available' : offline.offlineAvailable === false ? 'NOT available' : 'availability not reported'}${until ? ` (window until ${String(until)})` : ''}`,
    ]);
  }
  if (typeof offline.unforwardedCount === 'number')
    facts.push(['unforwarded payments', offline.unforwardedCount]);
  if (typeof offline.forwardAttemptStatus === 'string') {
    facts.push([
      'last forward attempt',
      `${offline.forwardAttemptStatus}${offline.lastForwardSucceeded === true ? ' (forwarded)' : offline.lastForwardSucceeded === false ? ' (NOT forwarded)' : ''}`,
    ]);
  }
  return facts;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], option: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}
