import { runArborProcess } from './arbor-process.js';
import { createSessionRunner } from './sessions/session-runner-factory.js';

/** Composition root: Arbor with real agent sessions, as a process that stops gracefully on SIGINT/SIGTERM. */
await runArborProcess(createSessionRunner);
