import { createServer, Socket, type Server } from 'node:net';
import { freePort } from './nats-server';

/**
 * A TCP pass-through to a server (TLS goes through untouched), which a test cuts and restores: one client loses its
 * connection and cannot reconnect while everyone else stays connected to the server.
 */
export interface TcpProxy {
  /** The target's URL with the proxy's port. */
  url: string;
  port: number;
  /** Drops every connection through the proxy and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl.replace(/^(nats|tls):/, 'http:'));
  const targetPort = Number(target.port);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = new Socket();
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        upstream.connect(targetPort, target.hostname, () => {
          client.pipe(upstream);
          upstream.pipe(client);
        });
      });
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        server = listening;
        resolve();
      });
    });
  const stop = async () => {
    const listening = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (listening) await new Promise<void>((resolve) => listening.close(() => resolve()));
  };

  await listen();
  return {
    url: targetUrl.replace(`:${target.port}`, `:${port}`),
    port,
    cut: stop,
    restore: async () => {
      if (!server) await listen();
    },
    close: stop,
  };
}
