#!/usr/bin/env node
// Bench agent (the `command` agent): reports when its process began and exits 0.
//
// Prints one line: `arbor-bench-agent-start <timeOrigin> <scriptStart>`, both
// wall-clock milliseconds since the epoch with sub-millisecond resolution:
//   timeOrigin  — when this process began (Node takes it during process start-up,
//                 a few ms after the parent's spawn(), before its own ~60 ms boot);
//   scriptStart — when this script's first line ran (after Node's boot).
// The prompt on stdin is not read: the runner ignores the EPIPE that may cause.
const scriptStart = performance.timeOrigin + performance.now();
process.stdout.write(`arbor-bench-agent-start ${performance.timeOrigin.toFixed(3)} ${scriptStart.toFixed(3)}\n`);
