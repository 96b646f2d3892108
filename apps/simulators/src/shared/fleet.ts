import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { sendJson, parseJsonBody } from './http-body';
import { listen, type ListeningServer } from './http-server';

/**
 * What the terminal fleet simulators (Antom, Adyen) have in common: one server plays many terminals, each with its
 * own faults and request count, driven over the same control routes.
 */

/** What every terminal fleet is started with, besides its terminals and keys. */
export interface FleetServerOptions<F> {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Faults in place from the start, by terminal id. */
  faults?: Readonly<Record<string, F>>;
  /** Keep every request (terminal, time, …) for tests that count per interval; counts are always kept. */
  recordRequests?: boolean;
  now?: () => number;
}

/** A fleet's faults at run time, by terminal id; an unknown id or a bad fault throws a FaultError. */
export interface FleetFaults<F> {
  /** Replaces the terminal's faults. */
  set(id: string, faults: F): void;
  /** Adds to the terminal's faults. */
  patch(id: string, faults: F): void;
  clear(id: string): void;
  /** Clears every terminal's faults; requests held by `noAnswer` are dropped. */
  clearAll(): void;
  get(id: string): F;
}

/** Requests a fleet received (whatever it answered), fleet-wide and per terminal. */
export interface FleetCounters<R> {
  total(): number;
  of(id: string): number;
  /** Every request, when `recordRequests` is on. */
  records(): readonly R[];
  reset(): void;
}

export interface TerminalFaultsOptions<F> {
  /** Throws (a FaultError) for an id that is not one of the fleet's terminals. */
  check(id: string): void;
  /** The vendor's fault parser; `where` names the object in messages. */
  parse(input: unknown, where?: string): F;
  /** Also undone by clearAll (held requests, transactions). */
  onClearAll?(): void;
}

/** The faults of each terminal of a fleet: written only for known terminals, and only once the parser accepts them. */
export class TerminalFaults<F extends object> implements FleetFaults<F> {
  private readonly faults = new Map<string, F>();

  constructor(private readonly options: TerminalFaultsOptions<F>) {}

  /** The faults given at start, keyed by terminal id; messages name `faults.<id>.<field>`. */
  load(initial: Readonly<Record<string, unknown>> = {}): void {
    for (const [id, f] of Object.entries(initial)) {
      this.options.check(id);
      this.faults.set(id, this.options.parse(f, `faults.${id}`));
    }
  }

  /** What a request to this terminal meets (none: undefined). */
  of(id: string): F | undefined {
    return this.faults.get(id);
  }

  check(id: string): void {
    this.options.check(id);
  }

  parse(input: unknown): F {
    return this.options.parse(input);
  }

  set(id: string, faults: F): void {
    this.options.check(id);
    this.faults.set(id, this.options.parse(faults));
  }

  patch(id: string, faults: F): void {
    this.options.check(id);
    this.faults.set(id, { ...this.faults.get(id), ...this.options.parse(faults) });
  }

  clear(id: string): void {
    this.options.check(id);
    this.faults.delete(id);
  }

  clearAll(): void {
    this.faults.clear();
    this.options.onClearAll?.();
  }

  /** A copy; `{}` for a terminal without faults. */
  get(id: string): F {
    return { ...this.faults.get(id) } as F;
  }
}

/** Requests counted fleet-wide and per terminal, and each one recorded when the fleet was asked to. */
export class RequestCounts<R> {
  private count = 0;
  private readonly byId = new Map<string, number>();
  /** Every request, oldest first, when `recording`; emptied (not replaced) by reset. */
  readonly records: R[] = [];

  constructor(readonly recording: boolean) {}

  add(id: string, record: () => R): void {
    this.count += 1;
    this.byId.set(id, (this.byId.get(id) ?? 0) + 1);
    if (this.recording) this.records.push(record());
  }

  total(): number {
    return this.count;
  }

  of(id: string): number {
    return this.byId.get(id) ?? 0;
  }

  byTerminal(): Record<string, number> {
    return Object.fromEntries(this.byId);
  }

  reset(): void {
    this.count = 0;
    this.byId.clear();
    this.records.length = 0;
  }
}

/** Requests a `noAnswer` fault keeps unanswered, until the faults are cleared or the fleet closes. */
export class HangingResponses {
  private readonly responses = new Set<ServerResponse>();

  hang(res: ServerResponse): void {
    this.responses.add(res);
    res.on('close', () => this.responses.delete(res));
  }

  /** Drops every held request: its client sees the connection close without an answer. */
  dropAll(): void {
    for (const res of this.responses) res.destroy();
  }
}

/**
 * Meets the faults every fleet terminal has on the way in: `noAnswer` holds the request (false: do not answer),
 * `slowMs` waits before the answer is made.
 */
export async function meetHoldAndDelay(
  fault: { noAnswer?: boolean; slowMs?: number },
  res: ServerResponse,
  hanging: HangingResponses,
): Promise<boolean> {
  if (fault.noAnswer) {
    hanging.hang(res);
    return false;
  }
  if (fault.slowMs) await delay(fault.slowMs);
  return true;
}

/** A terminal fleet's server, listening: `url` is `<scheme>://host:port`, an IPv6 host in brackets. */
export interface ServedFleet {
  listening: ListeningServer;
  port: number;
  url: string;
}

/** Listens with the fleets' one-minute keep-alive on connections. */
export async function serveFleet(
  server: HttpServer | HttpsServer,
  scheme: 'http' | 'https',
  options: { port?: number; host?: string },
): Promise<ServedFleet> {
  server.keepAliveTimeout = 60_000;
  const listening = await listen(server, options);
  const host = options.host ?? '127.0.0.1';
  return {
    listening,
    port: listening.port,
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${listening.port}`,
  };
}

/** The FleetCounters view of a fleet's request counts. */
export function countersOf<R>(counts: RequestCounts<R>): FleetCounters<R> {
  return {
    total: () => counts.total(),
    of: (id) => counts.of(id),
    records: () => counts.records,
    reset: () => counts.reset(),
  };
}

export interface ControlledFleet<F extends object> {
  faults: TerminalFaults<F>;
  /** The fleet's own counters: reset may zero more than the request counts (Adyen's duplicate ServiceIDs). */
  counters: { total(): number; records(): readonly unknown[]; reset(): void };
  recording: boolean;
}

/**
 * The control routes every terminal fleet has (below its control prefix; `parts` are the path segments):
 * `GET records`, `POST counters/reset`, `DELETE faults`, and `GET|PUT|PATCH|DELETE terminals/<id>/faults`.
 * Other requests are left unanswered for the fleet's own routes (and answerControl's 404).
 */
export function fleetControl<F extends object>(
  method: string | undefined,
  parts: readonly string[],
  body: Buffer,
  res: ServerResponse,
  fleet: ControlledFleet<F>,
): void {
  if (method === 'GET' && parts[0] === 'records') {
    return sendJson(res, 200, { recording: fleet.recording, records: fleet.counters.records() });
  }
  if (method === 'POST' && parts[0] === 'counters' && parts[1] === 'reset') {
    fleet.counters.reset();
    return sendJson(res, 200, { total: fleet.counters.total() });
  }
  if (method === 'DELETE' && parts[0] === 'faults' && parts.length === 1) {
    fleet.faults.clearAll();
    return sendJson(res, 200, { cleared: true });
  }
  if (parts[0] === 'terminals' && parts[2] === 'faults' && parts.length === 3) {
    const id = parts[1];
    if (method === 'GET') {
      fleet.faults.check(id);
      return sendJson(res, 200, fleet.faults.get(id));
    }
    if (method === 'DELETE') {
      fleet.faults.clear(id);
      return sendJson(res, 200, {});
    }
    if (method === 'PUT' || method === 'PATCH') {
      const parsed = fleet.faults.parse(parseJsonBody(body));
      if (method === 'PUT') fleet.faults.set(id, parsed);
      else fleet.faults.patch(id, parsed);
      return sendJson(res, 200, fleet.faults.get(id));
    }
  }
}

/** A terminal answer's HTTP body spoiled by a `malformed` fault; any other kind leaves it as it is. */
export function spoilBody(kind: string | undefined, body: string): string {
  switch (kind) {
    case 'garbage':
      return '<html><body>502 Bad Gateway</body></html>';
    case 'truncated':
      return body.slice(0, Math.floor(body.length / 2));
    case 'empty':
      return '';
    default:
      return body;
  }
}
