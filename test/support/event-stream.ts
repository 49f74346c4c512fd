/**
 * A Server-Sent Events client for e2e tests, on fetch: it records what it
 * read, and says how the stream ended (cleanly, or cut).
 */

export interface OpenStream {
  /** Everything read so far. */
  text(): string;
  /** Settles with how the stream ended: 'ended' (the server finished it) or the error that cut it. */
  closed: Promise<'ended' | Error>;
  /** Resolves once `needle` has been read. */
  waitFor(needle: string, timeoutMs?: number): Promise<void>;
}

export async function openEventStream(url: string): Promise<OpenStream> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
  if (res.status !== 200 || !res.body) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const waiters = new Set<() => void>();
  const closed = (async (): Promise<'ended' | Error> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended';
        text += value;
        for (const wake of [...waiters]) wake();
      }
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  })();
  const waitFor = (needle: string, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${JSON.stringify(needle)} in the stream within ${timeoutMs} ms; read:\n${text}`));
      }, timeoutMs);
      const check = () => {
        if (!text.includes(needle)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
      void closed.then(() => {
        if (!waiters.has(check)) return;
        clearTimeout(timer);
        waiters.delete(check);
        reject(new Error(`the stream closed before ${JSON.stringify(needle)}; read:\n${text}`));
      });
    });
  return { text: () => text, closed, waitFor };
}

/**
 * What a client that reconnects at once (as EventSource does, on the same
 * keep-alive connection) gets: the status of its new request, or the error
 * when the server is no longer there to answer.
 */
export async function reconnect(url: string): Promise<number | Error> {
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
