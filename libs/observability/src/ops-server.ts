import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, type Registry } from 'prom-client';

export interface ReadinessResult {
  ok: boolean;
  detail?: string;
}

/** A named condition that must hold for the service to take traffic (NATS connected, JetStream reachable, ...). */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<ReadinessResult> | ReadinessResult;
}

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** A check slower than this counts as failed, so a hung dependency cannot hang the probe. */
  checkTimeoutMs?: number;
}

export const READY_METRIC = 'tillbus_service_ready';

/**
 * The operations endpoints every service serves on its own port: `/metrics`, `/healthz` (liveness: the process
 * answers) and `/readyz` (readiness: every check passes and the service is not shutting down).
 */
export class OpsServer {
  private readonly checks: ReadinessCheck[] = [];
  private server?: Server;
  private shuttingDown = false;
  /** What the boot is waiting for, until markStarted(); undefined when nobody reported a startup step. */
  private startup?: string;
  private started = false;

  constructor(private readonly options: OpsServerOptions) {
    // Readiness as a metric too, so an alert sees a replica that is up but not ready (NATS or JetStream gone).
    if (!options.registry.getSingleMetric(READY_METRIC)) {
      const readiness = () => this.readiness();
      new Gauge({
        name: READY_METRIC,
        help: '1 while /readyz answers 200 (every readiness check passes, not shutting down), 0 otherwise.',
        registers: [options.registry],
        async collect() {
          this.set((await readiness()).ready ? 1 : 0);
        },
      });
    }
  }

  /** The bound address once started, e.g. `127.0.0.1` (OPS_HOST). */
  get host(): string | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.address : undefined;
  }

  /** The bound port once started (useful when configured with port 0). */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  addReadinessCheck(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /**
   * The step the boot is on (`declare stream TILLBUS_EDC: attempt 2 failed ...`): from the first report until
   * markStarted(), /readyz answers 503 with it, so a service that waits for JetStream says what it waits for.
   */
  reportStartup(detail: string): void {
    if (!this.started) this.startup = detail;
  }

  /** The boot is over: the startup check passes from now on. */
  markStarted(): void {
    this.started = true;
    this.startup = undefined;
  }

  /** From now on /readyz answers 503, so the load balancer stops sending work while in-flight work finishes. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** Idempotent: a service that waits for its dependencies starts it early, so /readyz can say what it waits for. */
  async start(): Promise<number> {
    if (this.server)
      return (this.server.address() as AddressInfo | null)?.port ?? this.options.port;
    const server = createServer((req, res) => {
      this.route(req, res).catch(() => send(res, 500, { status: 'error' }));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async readiness(): Promise<{ ready: boolean; checks: Record<string, ReadinessResult> }> {
    const timeoutMs = this.options.checkTimeoutMs ?? 2000;
    const results = await Promise.all(
      this.checks.map(async ({ name, check }) => [name, await runCheck(check, timeoutMs)] as const),
    );
    const checks = Object.fromEntries(results);
    if (this.startup !== undefined) checks['startup'] = { ok: false, detail: this.startup };
    if (this.shuttingDown) checks['shutdown'] = { ok: false, detail: 'shutting down' };
    return { ready: Object.values(checks).every((r) => r.ok), checks };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, { status: 'error', message: `${req.method} is not allowed; use GET` });
    }
    switch (path) {
      case '/metrics': {
        const body = await this.options.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.options.registry.contentType });
        res.end(body);
        return;
      }
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        const { ready, checks } = await this.readiness();
        return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      }
      default:
        return send(res, 404, {
          status: 'error',
          message: `no route ${path}; try /metrics, /healthz or /readyz`,
        });
    }
  }
}

async function runCheck(
  check: ReadinessCheck['check'],
  timeoutMs: number,
): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<ReadinessResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
    });
    return await Promise.race([Promise.resolve(check()), timeout]);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
