import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The load's clients, on a thread of their own so that their work does not
 * weigh on the event loop being measured (the server's, on the main thread):
 * `sseClients` streams of GET /api/events, signals posted at a fixed rate
 * (open loop: one is sent every 1/rate s whether or not earlier ones were
 * answered), /healthz at a fixed rate. Each request is timed from its start
 * to its whole answer.
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
const target = new URL(input.url);
// node:http with kept-alive connections, not fetch(): undici's fetch costs this thread milliseconds
// of CPU per request (Request/Response objects, web streams, a new connection), and on a busy
// 2-core machine that queueing landed in the figures as if the server were slow.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One SSE client; resolves once the server said the stream is following (`: connected`). */
function openStream() {
  return new Promise((resolve, reject) => {
    const stream = { signals: 0, close: () => req.destroy() };
    let buffer = '';
    let connected = false;
    const req = http.get(
      { host: target.hostname, port: target.port, path: '/api/events', headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET /api/events answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          let from = 0;
          while (end !== -1) {
            if (buffer.startsWith(': connected', from)) {
              connected = true;
              resolve(stream);
            } else if (buffer.startsWith('event: signal.received\n', from)) stream.signals += 1;
            from = end + 2;
            end = buffer.indexOf('\n\n', from);
          }
          buffer = buffer.slice(from);
        });
        res.on('error', (err) => {
          if (!connected) reject(err);
        });
      },
    );
    req.on('error', (err) => {
      if (connected) noteError(`event stream: ${err.message}`);
      else reject(err);
    });
  });
}

/** One request timed from its start to its whole answer. */
function timed(path, body, check, into) {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          into.push(performance.now() - started);
          const problem = check(res.statusCode, text);
          if (problem) noteError(problem);
          resolve();
        });
      },
    );
    req.on('error', (err) => {
      noteError(`${path}: ${err.message}`);
      resolve();
    });
    req.end(body);
  });
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
    '/api/signals/resolve',
    body,
    (status, text) => {
      if (status !== 200) return `resolve answered ${status}: ${text.slice(0, 200)}`;
      const answer = JSON.parse(text);
      return answer.matched.length === 1 && answer.matched[0] === gate.taskId ? null : `resolve of ${gate.repo}#${gate.pr} matched ${text}`;
    },
    signalMs,
  );
});
const healthz = atRate(input.healthzPerSecond, input.seconds, () =>
  timed('/healthz', undefined, (status) => (status === 200 ? null : `/healthz answered ${status}`), healthzMs),
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
