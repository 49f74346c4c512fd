#!/usr/bin/env node
// Bench agent (the `command` agent) that ends as most agents' runs end: with a commit.
//
// Reads the prompt on stdin to its end, as an agent does, writes task-<ARBOR_TASK_ID>.txt
// in its working directory (the session's worktree), `git add`s and commits it, and exits 0.
// Only its own file: the tasks of one goal never conflict when Arbor merges them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const taskId = process.env.ARBOR_TASK_ID;
if (!taskId) {
  process.stderr.write('commit-agent.mjs: ARBOR_TASK_ID is not set\n');
  process.exit(2);
}
for await (const _chunk of process.stdin);

const file = `task-${taskId}.txt`;
writeFileSync(file, `${taskId}\n`);
const identity = ['-c', 'user.name=Arbor Bench Agent', '-c', 'user.email=agent@localhost', '-c', 'commit.gpgSign=false'];
execFileSync('git', ['add', '--', file], { stdio: 'inherit' });
execFileSync('git', [...identity, 'commit', '-q', '--no-verify', '-m', `task ${taskId}`], { stdio: 'inherit' });
process.stdout.write(`committed ${file}\n`);
