import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ListeningServer {
  /** The port the server is bound to (the one picked when asked for 0). */
  port: number;
  /**
   * Stops accepting connections and ends every open one at once: idle keep-alive connections and requests a fault
   * keeps unanswered alike. Resolves when the server is closed.
   */
  close(): Promise<void>;
}

/**
 * Starts an HTTP or HTTPS server on host:port and tracks its connections so that `close()` does not wait for
 * clients to hang up. Rejects when the server cannot listen (the port is taken, the address is not local).
 */
export async function listen(
  server: HttpServer | HttpsServer,
  options: ListenOptions = {},
): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** The host a client reaches a server bound to `host` at: 127.0.0.1 for the default and for 0.0.0.0. */
export function reachableHost(host: string | undefined): string {
  return host && host !== '0.0.0.0' ? host : '127.0.0.1';
}
