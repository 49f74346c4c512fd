#!/usr/bin/env node
/**
 * A tiny, deterministic stand-in for a coding agent, for the `command` agent:
 *
 *   ARBOR_AGENT=command ARBOR_AGENT_COMMAND="node $PWD/examples/agent.mjs" npm start
 *
 * Arbor runs it once per agent task, in the task's git worktree (its cwd), with
 * the prompt on stdin and ARBOR_API_URL, ARBOR_GOAL_ID, ARBOR_TASK_ID and
 * ARBOR_TASK_TOKEN in its environment. It:
 *
 *   1. asks Arbor for its own task (GET /api/tasks/$ARBOR_TASK_ID with the task
 *      token, the one thing that token is good for besides reporting) to learn
 *      the task's key;
 *   2. writes notes/<key>.md: the prompt, up to its "How to work" section;
 *   3. commits it (work left uncommitted would be committed by Arbor anyway);
 *   4. prints a one-line summary, which Arbor keeps as the task's result and
 *      shows to the tasks that depend on this one;
 *   5. exits 0, which is what makes the task succeed.
 *
 * No dependencies: Node 20 and git.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const prompt = readFileSync(0, 'utf8');
const { ARBOR_API_URL: api, ARBOR_TASK_ID: taskId, ARBOR_TASK_TOKEN: token } = process.env;
if (!api || !taskId || !token) {
  console.error('agent.mjs: run me from Arbor (ARBOR_API_URL, ARBOR_TASK_ID and ARBOR_TASK_TOKEN are missing)');
  process.exit(2);
}

const res = await fetch(`${api}/api/tasks/${taskId}`, { headers: { authorization: `Bearer ${token}` } });
if (!res.ok) {
  console.error(`agent.mjs: GET /api/tasks/${taskId} answered ${res.status}: ${await res.text()}`);
  process.exit(1);
}
const task = await res.json();

// The prompt without the generic "How to work" section at its end.
const cut = prompt.indexOf('\n## How to work');
const note = `${(cut === -1 ? prompt : prompt.slice(0, cut)).trim()}\n`;
const file = path.join('notes', `${task.key}.md`);
mkdirSync('notes', { recursive: true });
writeFileSync(file, note);

const git = (...args) => execFileSync('git', args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' }).trim();
git('add', '--', file);
// The commit carries its own identity: the demo must not depend on the machine's git config.
git(
  '-c', 'user.name=Example agent',
  '-c', 'user.email=example-agent@arbor.invalid',
  'commit', '--quiet', '--no-verify', '--allow-empty', '-m', `${task.key}: ${task.title}`,
);

console.log(`Wrote ${file} (${note.split('\n').length - 1} lines) and committed it as ${git('rev-parse', '--short', 'HEAD')}.`);
