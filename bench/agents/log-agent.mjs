#!/usr/bin/env node
// Bench agent (the `command` agent) that prints as fast as it can.
//
//   log-agent.mjs <go-file> <lines>
//
// Waits until <go-file> exists (so that every session of the measurement is
// running before any prints), then writes <lines> lines of about 80 bytes to
// stdout, in 60 KB chunks, each taken before the next (a child's stdout is a
// socket, whose writes Node queues: see flood-agent.mjs), and exits 0.
import { once } from 'node:events';
import { existsSync } from 'node:fs';

const [goFile, linesArg] = process.argv.slice(2);
const lines = Number(linesArg);
if (!goFile || !Number.isInteger(lines) || lines < 0) {
  process.stderr.write('usage: log-agent.mjs <go-file> <lines>\n');
  process.exit(2);
}
while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 5));

let chunk = '';
for (let i = 0; i < lines; i += 1) {
  chunk += `line ${i} of ${lines}: compiling module ${i % 997}, 42 tests passed, nothing to report\n`;
  if (chunk.length > 60_000) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    chunk = '';
  }
}
if (chunk) process.stdout.write(chunk);
