// The spawner process: runs commands for its parent (an Arbor server) and
// sends back what they printed. Plain JavaScript and no dependencies, so that
// it starts without a TypeScript loader and stays small: forking a small
// process is cheap, while a fork of the server copies the page tables of its
// whole heap on its event loop (command-spawner.ts says more).
//
// Messages in: { id, command } (run-captured.d.ts). Out: { id, result } or
// { id, error }. It lives as long as its parent: it exits when the IPC
// channel closes (the parent stopped or died), and ignores SIGINT and
// SIGTERM, which a terminal or a service manager sends to the whole process
// group — the parent decides when it ends.
import { runCaptured } from './run-captured.js';

if (typeof process.send !== 'function') {
  process.stderr.write('spawner-main.js is started by Arbor with an IPC channel, not run by hand\n');
  process.exit(2);
}

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));

/** @param {unknown} message */
function send(message) {
  // The parent may be gone between a command's start and its end: nothing to tell then. With a
  // callback, a channel that closes meanwhile is an error passed to it, not an uncaught 'error'.
  if (process.connected) process.send?.(message, () => {});
}

process.on('message', (/** @type {{ id: number, command: import('./run-captured.js').CapturedCommand }} */ message) => {
  const { id, command } = message;
  runCaptured(command).then(
    (result) => send({ id, result }),
    (/** @type {Error} */ error) => send({ id, error: error.message }),
  );
});
