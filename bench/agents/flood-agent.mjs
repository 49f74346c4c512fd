#!/usr/bin/env node
// Bench agent (the `command` agent) that prints as fast as it can for a while.
//
//   flood-agent.mjs <go-file> <seconds>
//
// Waits until <go-file> exists, then writes lines of about 80 bytes to stdout
// in 60 KB chunks for <seconds> seconds, and exits 0. It waits for each chunk
// to be taken before the next: Node gives a child's stdout as a socket, where
// process.stdout writes are asynchronous, and a loop that did not wait queued
// ~140 MB an agent in 10 s (and once failed with ENOBUFS), then took minutes
// to hand it over after the window. So it goes exactly as fast as the runner
// reads, as a process writing to a pipe would.
import { once } from 'node:events';
import { existsSync } from 'node:fs';

const [goFile, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!goFile || !Number.isFinite(seconds) || seconds < 0) {
  process.stderr.write('usage: flood-agent.mjs <go-file> <seconds>\n');
  process.exit(2);
}
while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 5));

const end = performance.now() + seconds * 1000;
let i = 0;
while (performance.now() < end) {
  let chunk = '';
  while (chunk.length < 60_000) {
    chunk += `line ${i} of a flood: compiling module ${i % 997}, 42 tests passed, nothing to report\n`;
    i += 1;
  }
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}
