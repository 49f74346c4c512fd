import { createAdaptorServer } from '@hono/node-server';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The app on a Node HTTP server, and a shutdown that ends promptly: the
 * server stops accepting, every response from then on closes its connection
 * (a client holding a keep-alive connection, as an EventSource does to
 * reconnect, cannot keep the server up), connections that go idle are
 * closed as soon as they do, and streams — which the app ends itself on
 * shutdown — are cut if they have not ended shortly after.
 */

export interface HttpListener {
  url: string;
  /** Resolves when every connection is closed; in-flight requests get up to `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** Streams end themselves at once on shutdown; one stuck writing to a client that does not read is cut after this. */
const STREAM_END_MS = 1_000;
/** Connections idle after their last response are closed at this pace while the server drains. */
const IDLE_SWEEP_MS = 50;

export async function listenHttp(fetch: (request: Request) => Response | Promise<Response>, host: string, port: number): Promise<HttpListener> {
  const server = createAdaptorServer({ fetch, hostname: host }) as Server;
  let closing = false;
  const streams = new Set<Socket>();
  // Before the app's listener, so the header is set before the app writes its response.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    if (/text\/event-stream/i.test(req.headers.accept ?? '')) {
      const socket = req.socket;
      streams.add(socket);
      res.once('close', () => streams.delete(socket));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`${host}:${port} is already in use: set PORT to a free port or stop what listens there`) : err),
    );
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: async (graceMs) => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      const cutStreams = setTimeout(() => {
        for (const socket of streams) socket.destroy();
      }, STREAM_END_MS);
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      try {
        await closed;
      } finally {
        clearInterval(sweep);
        clearTimeout(cutStreams);
        clearTimeout(force);
      }
    },
  };
}
