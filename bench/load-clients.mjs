import { parentPort, workerData } from 'node:worker_threads';

/**
 * The load's clients, on a thread of their own so that their work does not
 * weigh on the event loop being measured (the server's, on the main thread):
 * `sseClients` streams of GET /api/events, signals posted at a fixed rate
 * (open loop: one is sent every 1/rate s whether or not earlier ones were
 * answered), /healthz at a fixed rate. Each request is timed from the call of
 * fetch() to its whole answer.
 *
 * Plain JavaScript: a worker thread does not get the tsx loader. Its input and
 * messages are typed in load.ts (LoadClientsInput, LoadClientsMessage).
 */

const input = workerData;
const port = parentPort;
const errors = [];
const noteError = (message) => {
  if (errors.length < 20) errors.push(message);
};

/** One SSE client; resolves once the server said the stream is following (`: connected`). */
async function openStream() {
  const abort = new AbortController();
  const res = await fetch(`${input.url}/api/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET /api/events answered ${res.status}`);
  const stream = { signals: 0, close: () => abort.abort() };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let connected = () => {};
  const ready = new Promise((resolve) => (connected = resolve));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith(': connected')) connected();
          else if (frame.startsWith('event: signal.received\n')) stream.signals += 1;
          end = buffer.indexOf('\n\n');
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) noteError(`event stream: ${err.message}`);
    }
  })();
  await ready;
  return stream;
}

async function timed(url, init, check, into) {
  const started = performance.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    into.push(performance.now() - started);
    const problem = check(res.status, text);
    if (problem) noteError(problem);
  } catch (err) {
    noteError(`${url}: ${err.message}`);
  }
}

/** Calls `fire` every 1/rate s for `seconds` (open loop); resolves when every call has settled. */
async function atRate(rate, seconds, fire) {
  const inFlight = [];
  const began = performance.now();
  const total = Math.floor(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(fire(i));
  }
  await Promise.all(inFlight);
}

const streams = [];
for (let i = 0; i < input.sseClients; i += 10) {
  // Ten at a time: all connected before the clock starts, without a thundering herd.
  streams.push(...(await Promise.all(Array.from({ length: Math.min(10, input.sseClients - i) }, openStream))));
}
port.postMessage({ kind: 'ready' });

await new Promise((resolve) => port.once('message', () => resolve()));
const signalMs = [];
const healthzMs = [];
const signals = atRate(input.signalsPerSecond, input.seconds, (i) => {
  const gate = input.targets[i];
  const body = JSON.stringify({ type: 'gh_ci', repo: gate.repo, pr: gate.pr, status: 'pass', summary: 'green', idempotency_key: `load-${i}` });
  return timed(
    `${input.url}/api/signals/resolve`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body },
    (status, text) => {
      if (status !== 200) return `resolve answered ${status}: ${text.slice(0, 200)}`;
      const answer = JSON.parse(text);
      return answer.matched.length === 1 && answer.matched[0] === gate.taskId ? null : `resolve of ${gate.repo}#${gate.pr} matched ${text}`;
    },
    signalMs,
  );
});
const healthz = atRate(input.healthzPerSecond, input.seconds, () =>
  timed(`${input.url}/healthz`, undefined, (status) => (status === 200 ? null : `/healthz answered ${status}`), healthzMs),
);
await Promise.all([signals, healthz]);

// Every stream hears of every signal; give them a little time to catch up before counting.
const expected = Math.floor(input.signalsPerSecond * input.seconds);
const deadline = performance.now() + 10_000;
while (streams.some((s) => s.signals < expected) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
for (const s of streams) s.close();
port.postMessage({
  kind: 'done',
  result: { signalMs, healthzMs, streamedSignals: streams.map((s) => s.signals), errors },
});
