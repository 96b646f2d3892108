import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServerBinary, freePort, NATS_INSTALL_HINT, waitForPort } from './nats-server';
import { runCertificates } from './tls';
import { waitFor } from './wait';

/** One node of a test cluster: its own process, ports and store, which a test can stop, kill and start again. */
export interface TestNatsClusterNode {
  /** The node's server_name, as JetStream reports leaders (n1, n2, ...). */
  name: string;
  url: string;
  port: number;
  /** The HTTP monitoring port (/varz, /jsz). */
  monitorPort: number;
  clusterPort: number;
  storeDir: string;
  /** Graceful stop (SIGTERM); the store survives. */
  stop(): Promise<void>;
  /** Crash (SIGKILL); the store survives as the crash left it. */
  kill(): Promise<void>;
  /** Start again on the same ports; `wipeStore` first deletes the store, as a node replaced with a blank disk. */
  start(options?: { wipeStore?: boolean }): Promise<void>;
}

export interface TestNatsCluster {
  /** Every node's client URL, for a client's `servers` list. */
  urls: string[];
  servers: TestNatsClusterNode[];
  /** The server_name of the JetStream meta leader; waits (up to 30 s) while the cluster is still electing. */
  metaLeader(): Promise<string>;
  /** The server_name of the leader of `stream`'s replica group; waits (up to 30 s) until one is known. */
  streamLeader(stream: string): Promise<string>;
  /** Stops every node and deletes every store. */
  stop(): Promise<void>;
}

/**
 * A private NATS cluster on loopback, one nats-server process per node (TLS for clients like every test server,
 * plain routes between the nodes). Resolves once every launched node accepts clients — not once JetStream has a meta
 * leader: a test of a cold start wants the cluster still electing; `await cluster.metaLeader()` waits for it.
 */
export async function startTestNatsCluster(
  options: {
    nodes?: number;
    jetstream?: boolean;
    /** Launch only the first `running` nodes now (default: all); the others wait for `servers[i].start()`. */
    running?: number;
  } = {},
): Promise<TestNatsCluster> {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error(NATS_INSTALL_HINT);
  const count = options.nodes ?? 3;
  const jetstream = options.jetstream ?? true;
  const root = mkdtempSync(join(tmpdir(), 'tillbus-nats-cluster-'));
  const ports = await distinctPorts(count * 3);
  const layout = Array.from({ length: count }, (_, index) => ({
    name: `n${index + 1}`,
    port: ports[index * 3],
    clusterPort: ports[index * 3 + 1],
    monitorPort: ports[index * 3 + 2],
    storeDir: join(root, `n${index + 1}`),
  }));
  const certificates = runCertificates();
  const scheme = certificates ? 'tls' : 'nats';
  const clusterName = `tillbus-test-${process.pid}`;

  const nodes = layout.map((node): TestNatsClusterNode => {
    let child: ChildProcess | undefined;
    const routes = layout
      .filter((other) => other.name !== node.name)
      .map((other) => `nats://127.0.0.1:${other.clusterPort}`)
      .join(',');
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(node.port),
      '-m',
      String(node.monitorPort),
      '--server_name',
      node.name,
      '--cluster_name',
      clusterName,
      '--cluster',
      `nats://127.0.0.1:${node.clusterPort}`,
      ...(routes ? ['--routes', routes] : []),
      ...(jetstream ? ['-js', '-sd', node.storeDir] : []),
      ...(certificates
        ? ['--tls', '--tlscert', certificates.certFile, '--tlskey', certificates.keyFile]
        : []),
    ];
    const signalAndWait = async (signal: NodeJS.Signals) => {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    };
    const launch = async ({ wipeStore = false }: { wipeStore?: boolean } = {}) => {
      if (child) throw new Error(`node ${node.name} is already running`);
      if (wipeStore) rmSync(node.storeDir, { recursive: true, force: true });
      mkdirSync(node.storeDir, { recursive: true });
      const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child = proc;
      try {
        await waitForPort(node.port, 10_000, () => proc.exitCode !== null);
      } catch (error) {
        child = undefined;
        proc.kill('SIGKILL');
        throw new Error(
          `nats-server ${node.name} did not start on port ${node.port}: ${(error as Error).message}\n${stderr}`,
        );
      }
    };
    return {
      ...node,
      url: `${scheme}://127.0.0.1:${node.port}`,
      stop: () => signalAndWait('SIGTERM'),
      kill: () => signalAndWait('SIGKILL'),
      start: launch,
    };
  });

  const stopAll = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.slice(0, options.running ?? count).map((node) => node.start()));
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    urls: nodes.map((node) => node.url),
    servers: nodes,
    metaLeader: () =>
      waitFor(
        async () => {
          for (const node of nodes) {
            const jsz = await monitor<Jsz>(node.monitorPort, '/jsz');
            if (jsz?.meta_cluster?.leader) return jsz.meta_cluster.leader;
          }
          return undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'a JetStream meta leader' },
      ),
    streamLeader: (stream: string) =>
      waitFor(
        async () => {
          for (const node of nodes) {
            const jsz = await monitor<Jsz>(node.monitorPort, '/jsz?accounts=true&streams=true');
            for (const account of jsz?.account_details ?? []) {
              const found = account.stream_detail?.find((detail) => detail.name === stream);
              if (found?.cluster?.leader) return found.cluster.leader;
            }
          }
          return undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `a leader of stream ${stream}` },
      ),
    stop: stopAll,
  };
}

interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: Array<{
    stream_detail?: Array<{ name: string; cluster?: { leader?: string } }>;
  }>;
}

/** A monitoring endpoint's JSON, or undefined while the node is down. */
async function monitor<T>(port: number, path: string): Promise<T | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      signal: AbortSignal.timeout(2000),
    });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
