import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServerBinary, runCertificates, waitFor } from '@tillbus/testing';

/**
 * Three nats-server nodes, each in its own network namespace, for a partition that is a network fault and not a
 * dead process. Each namespace has two veth links to the host: one on a client bridge (the services and the test
 * reach every node there) and one on a route bridge (the cluster's own traffic). Partitioning a node takes its
 * route link down: it is cut from the other two nodes, while its clients stay connected to it, as when a switch
 * between the NATS nodes fails. Needs root and `ip netns`; netnsUnavailable() says why not.
 */
export interface NetnsCluster {
  urls: string[];
  names: string[];
  /** The node the named client (its NATS connection name) is connected to, from the nodes' /connz. */
  nodeOf(clientName: string): Promise<string>;
  partition(name: string): void;
  heal(name: string): void;
  stop(): Promise<void>;
}

const run = (args: string[]) => {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`ip ${args.join(' ')}: ${result.stderr || result.error}`);
};
const tryRun = (args: string[]) => spawnSync('ip', args, { stdio: 'ignore' });

/** Why the partition case cannot run here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  const probe = `tbprobe${process.pid % 100_000}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.error) return `ip is not installed (${added.error.message})`;
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`;
  tryRun(['netns', 'del', probe]);
  if (!runCertificates()) return 'no test CA (vitest global setup) to sign the nodes certificates';
  return undefined;
}

export async function startNetnsCluster(): Promise<NetnsCluster> {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error('nats-server is not installed');
  const tag = `tb${process.pid % 10_000}`;
  // Two /24s chosen from the pid, away from common LANs; the host holds .254 on each bridge.
  const octet = 100 + (process.pid % 100);
  const clientNet = `10.${octet}.10`;
  const routeNet = `10.${octet}.11`;
  const names = ['n1', 'n2', 'n3'];
  const root = mkdtempSync(join(tmpdir(), 'tillbus-netns-'));
  const children = new Map<string, ChildProcess>();
  const cleanup: string[][] = [];

  const teardown = async () => {
    for (const child of children.values()) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const args of cleanup.reverse()) tryRun(args);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const [bridge, net] of [
      [`${tag}cb`, clientNet],
      [`${tag}rb`, routeNet],
    ]) {
      run(['link', 'add', bridge, 'type', 'bridge']);
      cleanup.push(['link', 'del', bridge]);
      run(['addr', 'add', `${net}.254/24`, 'dev', bridge]);
      run(['link', 'set', bridge, 'up']);
    }
    const certificate = nodeCertificate(
      root,
      names.map((_, i) => `${clientNet}.${i + 1}`),
    );
    const port = 4222;
    const monitorPort = 8222;
    const clusterPort = 6222;
    names.forEach((name, index) => {
      const ns = `${tag}${name}`;
      run(['netns', 'add', ns]);
      cleanup.push(['netns', 'del', ns]);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
      for (const [kind, bridge, net] of [
        ['c', `${tag}cb`, clientNet],
        ['r', `${tag}rb`, routeNet],
      ]) {
        const host = `${tag}${name}${kind}`;
        run(['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}x`]);
        cleanup.push(['link', 'del', host]);
        run(['link', 'set', `${host}x`, 'netns', ns]);
        run(['link', 'set', host, 'master', bridge]);
        run(['link', 'set', host, 'up']);
        run(['-n', ns, 'addr', 'add', `${net}.${index + 1}/24`, 'dev', `${host}x`]);
        run(['-n', ns, 'link', 'set', `${host}x`, 'up']);
      }
      const routes = names
        .map((_, other) => other)
        .filter((other) => other !== index)
        .map((other) => `nats://${routeNet}.${other + 1}:${clusterPort}`)
        .join(',');
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          binary,
          '-a',
          '0.0.0.0',
          '-p',
          String(port),
          '-m',
          String(monitorPort),
          '--server_name',
          name,
          '--cluster_name',
          `${tag}-cluster`,
          '--cluster',
          `nats://${routeNet}.${index + 1}:${clusterPort}`,
          '--routes',
          routes,
          '-js',
          '-sd',
          join(root, name),
          '--tls',
          '--tlscert',
          certificate.certFile,
          '--tlskey',
          certificate.keyFile,
        ],
        { stdio: 'ignore' },
      );
      children.set(name, child);
    });
    const monitor = (index: number, path: string) =>
      fetch(`http://${clientNet}.${index + 1}:${monitorPort}${path}`, {
        signal: AbortSignal.timeout(2000),
      });
    await waitFor(
      async () => {
        for (let i = 0; i < names.length; i++) if (!(await monitor(i, '/healthz')).ok) return false;
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the nodes in their namespaces to answer' },
    );
    return {
      urls: names.map((_, i) => `tls://${clientNet}.${i + 1}:${port}`),
      names,
      nodeOf: async (clientName) =>
        waitFor(
          async () => {
            for (let i = 0; i < names.length; i++) {
              const connz = (await (await monitor(i, '/connz?limit=1024')).json()) as {
                connections?: { name?: string }[];
              };
              if (connz.connections?.some((c) => c.name === clientName)) return names[i];
            }
            return undefined;
          },
          { timeoutMs: 10_000, intervalMs: 200, what: `the node ${clientName} is connected to` },
        ),
      partition: (name) => run(['link', 'set', `${tag}${name}r`, 'down']),
      heal: (name) => run(['link', 'set', `${tag}${name}r`, 'up']),
      stop: teardown,
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** A server certificate for the nodes' client addresses, signed by the run's test CA (which every process trusts). */
function nodeCertificate(dir: string, ips: string[]): { certFile: string; keyFile: string } {
  const ca = runCertificates()!;
  const keyFile = join(dir, 'node.key');
  const certFile = join(dir, 'node.crt');
  const csr = join(dir, 'node.csr');
  const ext = join(dir, 'node.ext');
  writeFileSync(
    ext,
    `subjectAltName=DNS:localhost,${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  const openssl = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
  };
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      keyFile,
      '-out',
      csr,
      '-subj',
      '/CN=tillbus netns node',
    ]),
  );
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caFile,
    '-CAkey',
    join(ca.dir, 'ca.key'),
    '-CAcreateserial',
    '-CAserial',
    join(dir, 'ca.srl'),
    '-out',
    certFile,
    '-days',
    '1',
    '-extfile',
    ext,
  ]);
  return { certFile, keyFile };
}
