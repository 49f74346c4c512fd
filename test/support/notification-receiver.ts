import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver took, with the status it answered. */
export interface Receipt {
  path: string;
  body: Record<string, unknown>;
  status: number;
}

export interface NotificationReceiver {
  url: string;
  receipts: Receipt[];
  /** Resolves with the first receipt (already in or still to come) that `match` accepts. */
  waitFor(what: string, match: (receipt: Receipt) => boolean, timeoutMs?: number): Promise<Receipt>;
  close(): Promise<void>;
}

/**
 * A real HTTP server standing in for a webhook target. `answer` picks the
 * status of each request from its path (query dropped) and how many requests
 * that path had before it.
 */
export async function startNotificationReceiver(answer: (path: string, seen: number) => number = () => 200): Promise<NotificationReceiver> {
  const receipts: Receipt[] = [];
  const watchers = new Set<(receipt: Receipt) => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const seen = receipts.filter((r) => r.path === path).length;
      const status = answer(path, seen);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { unparsable: Buffer.concat(chunks).toString('utf8') };
      }
      const receipt = { path, body, status };
      receipts.push(receipt);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      for (const watcher of [...watchers]) watcher(receipt);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    receipts,
    waitFor: (what, match, timeoutMs = 60_000) => {
      const seen = receipts.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watcher);
          reject(new Error(`the receiver got no ${what} within ${timeoutMs} ms; it got:\n${JSON.stringify(receipts, null, 1)}`));
        }, timeoutMs);
        const watcher = (receipt: Receipt) => {
          if (!match(receipt)) return;
          clearTimeout(timer);
          watchers.delete(watcher);
          resolve(receipt);
        };
        watchers.add(watcher);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
