import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, realpath, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import type { Db } from '../server/db/database.js';
import { NotificationListener } from '../server/db/notification-listener.js';
import { planGoalTree, type TaskSpec } from '../server/domain/goal-tree.js';
import type { AgentName, ChildrenMode } from '../server/domain/states.js';
import { AgentSessionRunner, type SessionSettings } from '../server/sessions/agent-session-runner.js';
import { createAgentAdapter, type AgentAdapter, type AgentSettings } from '../server/sessions/agents/index.js';
import { SpawnerProcess } from '../server/sessions/spawner/command-spawner.js';
import { WorktreeManager } from '../server/sessions/worktrees.js';
import { EVENTS_CHANNEL } from '../server/store/events.js';
import { insertGoalTree } from '../server/store/goals.js';
import type { Cleanup } from './cleanup.js';
import { withPartCleanup, type BenchContext } from './context.js';
import { describeDelta } from './counters.js';
import { openBenchDatabase } from './database.js';
import { checkpoint } from './history.js';
import { figure, note, seconds } from './output.js';
import { benchOptions, waitForGoalEnd, withRunningOrchestrator, type Rig } from './rig.js';
import { measureSpawnedTasks } from './spawned.js';
import { describeSummary, median, summarize, wallClockMs } from './stats.js';

/**
 * The session figures, with the real AgentSessionRunner (real WorktreeManager,
 * the `command` agent running small node scripts in bench/agents, spawned
 * route) under a real TaskOrchestrator woken by NOTIFY, as the server runs
 * them.
 *
 * session.start_overhead — on a generated repository of 10,000 committed
 * files: the median time from a task becoming ready to its agent process
 * running, over the median of a bare `git worktree add -b <b> <path> <sha>` of
 * the same repository. The two are measured in alternation (a bare add, then
 * a task start, and again), so whatever else the machine does weighs on both.
 *
 *   "ready": the commit of a new goal whose one task is a spawned agent task
 *   with no dependencies. From that commit the task is claimable; the clock
 *   starts the moment insertGoalTree returns (the commit's acknowledgement).
 *   Everything Arbor does from there is inside the window: the NOTIFY wake-up,
 *   the tick, the claim, the goal branch, the worktree, the session row, the
 *   spawn.
 *
 *   "running": the agent process's own `performance.timeOrigin`, which Node
 *   takes as the process starts — ~5 ms after the parent's spawn() on this
 *   machine, before Node's own ~60 ms boot (the agent's start-up cost, not
 *   Arbor's; with a real CLI it would be much more). The agent prints it and
 *   it is read back from session_logs. Both clocks are this host's wall clock
 *   with sub-millisecond resolution.
 *
 * session.log_lines_per_s — 20 spawned sessions on a small repository (so
 * that their worktrees are made in milliseconds and the sessions really run
 * together); each agent waits until all 20 are running, then prints 50,000
 * lines as fast as the runner reads them. Lines stored (sessions.log_lines,
 * which appendSessionLogs bumps in the transaction that inserts the rows) over
 * the time from "go" until the bench sees the last line stored, with this
 * process's event loop delay (monitorEventLoopDelay, p99) over the same time.
 *
 * session.rss_peak_mb — one spawned session whose agent prints 2,000,000 lines
 * of about 80 bytes (160 MB) as fast as it can, with the default log bound
 * (20,000 lines kept): the peak resident set of this process — the one running
 * the runner, as the server does — from "go" to the goal's end. The peak is
 * the kernel's own (getrusage ru_maxrss) when it rose during the window, else
 * the highest of samples taken every 10 ms. It runs first, before the other
 * measurements have grown the heap; the RSS before "go" is printed with it.
 *
 * session.spawned_tasks_per_s, session.spawned_event_loop_p99_ms,
 * session.spawned_cpu_ms_per_task — a goal of 60 spawned tasks, each
 * committing a file, drained through a `file://` remote by the runner the
 * server's factory builds (spawned.ts says what is timed). It runs last, so
 * the measurements above are taken as they were before it; a fork costs more
 * the larger this process is, so its RSS at the start is printed with it
 * (alone, with BENCH_SESSION_ONLY=spawned, it starts from the smallest).
 *
 * BENCH_SESSION_ONLY=rss,start,logs,spawned picks some of the four.
 */

const AGENTS_DIR = fileURLToPath(new URL('./agents/', import.meta.url));
const START_AGENT = path.join(AGENTS_DIR, 'start-agent.mjs');
const LOG_AGENT = path.join(AGENTS_DIR, 'log-agent.mjs');
const START_MARK = 'arbor-bench-agent-start ';
const IDENTITY = ['-c', 'user.name=Arbor Bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgSign=false'];
const execFileAsync = promisify(execFile);

export async function measureSessions(ctx: BenchContext): Promise<void> {
  await withPartCleanup(ctx, 'sessions', async (cleanup) => {
    const base = ctx.settings.sessions.dir ?? (await defaultSessionDir());
    const tmp = await realpath(await mkdtemp(path.join(base, 'arbor-bench-sessions-')));
    cleanup.add(`remove ${tmp}`, () => rm(tmp, { recursive: true, force: true }));
    note(`sessions: repositories and worktrees under ${tmp} (${await filesystemName(tmp)})`);
    const { db, url } = await openBenchDatabase(cleanup, ctx.adminUrl, ctx.logger, ctx.counter, { label: 'sessions' });
    const listener = new NotificationListener(url, EVENTS_CHANNEL, ctx.logger);
    await listener.start();
    cleanup.add('stop the sessions notification listener', () => listener.stop());
    const rig: Rig = { db, cleanup, listener, logger: ctx.logger };

    const { measurements } = ctx.settings.sessions;
    if (measurements.includes('rss')) await measureOutputMemory(ctx, rig, tmp);
    if (measurements.includes('start')) await measureStartOverhead(ctx, rig, tmp);
    if (measurements.includes('logs')) await measureLogThroughput(ctx, rig, tmp);
    if (measurements.includes('spawned')) await measureSpawnedTasks(ctx, rig, tmp);
  });
}

// ---------------------------------------------------------------------------
// session.start_overhead

interface StartSample {
  totalMs: number;
  /** From "ready" to: the claim's transaction, the session row, markSessionRunning, the agent's first line. */
  claimMs: number;
  sessionRowMs: number;
  markedRunningMs: number;
  scriptMs: number;
}

async function measureStartOverhead(ctx: BenchContext, rig: Rig, tmp: string): Promise<void> {
  const { repoFiles, startSamples } = ctx.settings.sessions;
  let t = performance.now();
  const repo = await generateRepo(path.join(tmp, 'big-repo'), repoFiles);
  note(`sessions: repository of ${repoFiles} files (${repo.sizeKb} KiB of content) made in ${seconds(performance.now() - t)}`);
  await checkpoint(rig.db);

  const bareRoot = path.join(tmp, 'bare-worktrees');
  await mkdir(bareRoot, { recursive: true });
  const worktreeRoot = path.join(tmp, 'worktrees-start');
  const bare: number[] = [];
  const starts: StartSample[] = [];

  await withSessionOrchestrator(ctx, rig, 'start', worktreeRoot, [process.execPath, START_AGENT], { maxSessions: 8, logMaxLines: 20_000 }, async (worktrees) => {
    t = performance.now();
    // One unmeasured pair first: the first checkout of a fresh repository (and the first claim) is not typical.
    for (let i = -1; i < startSamples; i++) {
      const bareMs = await bareWorktreeAdd(repo.path, repo.head, bareRoot, i);
      const start = await timeTaskStart(rig, worktrees, worktreeRoot, repo.path, i);
      if (i < 0) continue;
      bare.push(bareMs);
      starts.push(start);
    }
    note(`sessions: ${startSamples} task starts and ${startSamples} bare worktree adds (+1 warm-up each) in ${seconds(performance.now() - t)}`);
  });

  const b = summarize(bare);
  const s = summarize(starts.map((x) => x.totalMs));
  note(`sessions: bare git worktree add (${repoFiles} files): ${describeSummary(b)}`);
  note(`sessions: task ready -> agent process running: ${describeSummary(s)}`);
  note(
    `sessions: start breakdown, medians from ready: claimed ${median(starts.map((x) => x.claimMs)).toFixed(1)} ms, ` +
      `session row (worktree made) ${median(starts.map((x) => x.sessionRowMs)).toFixed(1)} ms, ` +
      `process running ${s.p50.toFixed(1)} ms, session marked running ${median(starts.map((x) => x.markedRunningMs)).toFixed(1)} ms, ` +
      `agent script's first line (after node's boot) ${median(starts.map((x) => x.scriptMs)).toFixed(1)} ms`,
  );
  figure('session.start_median', s.p50, 'ms', 1);
  figure('session.worktree_add_median', b.p50, 'ms', 1);
  figure('session.start_overhead', s.p50 / b.p50, 'x', 2);
}

/** A repository with `files` small files in one commit on main, spread over directories of 100. */
export async function generateRepo(dir: string, files: number): Promise<{ path: string; head: string; sizeKb: number }> {
  await mkdir(dir, { recursive: true });
  const real = await realpath(dir);
  await git(real, 'init', '-q', '-b', 'main');
  let bytes = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < files; i++) {
    const sub = path.join(real, 'src', `pkg${String(Math.floor(i / 100)).padStart(3, '0')}`);
    if (i % 100 === 0) await mkdir(sub, { recursive: true });
    const content =
      `// Generated module ${i} of ${files}.\n` +
      `export const name${i} = 'module-${i}';\n` +
      `export function value${i}(x: number): number {\n  return x * ${i % 97} + ${i};\n}\n`;
    bytes += content.length;
    writes.push(writeFile(path.join(sub, `module${i}.ts`), content));
    if (writes.length >= 200) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  await writeFile(path.join(real, 'README.md'), `# bench repository\n\n${files} generated files.\n`);
  await git(real, 'add', '--all');
  // No automatic gc in the background: it would race the explicit one below (and the measurements).
  await git(real, ...IDENTITY, '-c', 'gc.auto=0', 'commit', '-q', '--no-verify', '-m', 'generated');
  // Packed, as a clone would be: loose objects would make every checkout slower than real ones.
  await git(real, 'gc', '-q');
  const head = (await git(real, 'rev-parse', 'HEAD')).trim();
  return { path: real, head, sizeKb: Math.round(bytes / 1024) };
}

/** One timed `git worktree add -b <b> <path> <sha>`; the worktree and branch are removed again, untimed. */
async function bareWorktreeAdd(repo: string, sha: string, root: string, i: number): Promise<number> {
  const branch = `bench-bare-${i < 0 ? 'warm' : i}`;
  const target = path.join(root, `wt-${i < 0 ? 'warm' : i}`);
  const started = performance.now();
  await git(repo, 'worktree', 'add', '-q', '-b', branch, target, sha);
  const elapsed = performance.now() - started;
  await git(repo, 'worktree', 'remove', '--force', '--force', target);
  await git(repo, 'branch', '-D', branch);
  return elapsed;
}

/**
 * One goal with one spawned agent task: timed from the goal's commit to the
 * agent process's start, then waited on to the end (the session's worktree
 * gone, its work merged into the goal branch); the goal's own worktree, which
 * Arbor keeps for the goal, is removed untimed so every sample sees the same
 * repository.
 */
async function timeTaskStart(rig: Rig, worktrees: WorktreeManager, worktreeRoot: string, repo: string, i: number): Promise<StartSample> {
  const specs: TaskSpec[] = [{ key: 'start', title: 'Start', instructions: 'print when you started', session_policy: 'spawn' }];
  const { goalId, readyAt } = await createGoal(rig.db, `bench start ${i}`, repo, 'command', specs, 'sequential', 1);
  const end = await waitForGoalEnd(rig, goalId, 120_000);
  if (end.status !== 'succeeded') throw new Error(`start goal ${i} ended ${end.status}: ${await goalErrors(rig.db, goalId)}`);

  const { rows } = await sql<{
    claimed: number;
    created: number;
    running: number | null;
    line: string | null;
    goalBranch: string;
  }>`
    SELECT extract(epoch FROM t.started_at) * 1000 AS claimed,
           extract(epoch FROM s.created_at) * 1000 AS created,
           extract(epoch FROM s.started_at) * 1000 AS running,
           (SELECT l.text FROM session_logs l WHERE l.session_id = s.id AND l.seq > 0 ORDER BY l.seq LIMIT 1) AS line,
           g.branch AS goal_branch
    FROM tasks t JOIN sessions s ON s.task_id = t.id JOIN goals g ON g.id = t.goal_id
    WHERE t.goal_id = ${goalId}`.execute(rig.db);
  if (rows.length !== 1) throw new Error(`start goal ${i}: expected one session, found ${rows.length}`);
  const r = rows[0]!;
  if (r.line === null || !r.line.startsWith(START_MARK)) throw new Error(`start goal ${i}: the agent's first line is ${JSON.stringify(r.line)}`);
  const [origin, scriptStart] = r.line.slice(START_MARK.length).split(' ').map(Number) as [number, number];

  const goalWorktree = path.join(worktreeRoot, goalId.slice(0, 8), 'goal');
  await worktrees.remove(repo, goalWorktree);
  return {
    totalMs: origin - readyAt,
    claimMs: Number(r.claimed) - readyAt,
    sessionRowMs: Number(r.created) - readyAt,
    markedRunningMs: r.running === null ? NaN : Number(r.running) - readyAt,
    scriptMs: scriptStart - readyAt,
  };
}

// ---------------------------------------------------------------------------
// session.log_lines_per_s

async function measureLogThroughput(ctx: BenchContext, rig: Rig, tmp: string): Promise<void> {
  const { logSessions, logLinesPerSession } = ctx.settings.sessions;
  const total = logSessions * logLinesPerSession;
  const repo = await generateRepo(path.join(tmp, 'small-repo'), 20);
  const goFile = path.join(tmp, `go-${randomBytes(3).toString('hex')}`);
  // Keep every line: the figure is lines stored, not lines stored and then dropped.
  const logMaxLines = Math.max(20_000, logLinesPerSession + 1_000);
  const argv = [process.execPath, LOG_AGENT, goFile, String(logLinesPerSession)];

  await withSessionOrchestrator(ctx, rig, 'logs', path.join(tmp, 'worktrees-logs'), argv, { maxSessions: Math.max(8, logSessions), logMaxLines }, async () => {
    const specs: TaskSpec[] = Array.from({ length: logSessions }, (_, i) => ({
      key: `print-${i}`,
      title: `Print ${i}`,
      instructions: 'print as fast as you can',
      session_policy: 'spawn',
    }));
    const { goalId } = await createGoal(rig.db, 'bench logs', repo.path, 'command', specs, 'parallel', logSessions);

    // Every agent is running (and waiting for the go file) before any prints.
    const t = performance.now();
    await pollUntil(`${logSessions} log sessions running`, 120_000, 20, async () => {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM sessions WHERE goal_id = ${goalId} AND status = 'running'`.execute(rig.db);
      return Number(rows[0]!.n) >= logSessions;
    });
    note(`logs: ${logSessions} sessions running after ${seconds(performance.now() - t)}; go`);
    await checkpoint(rig.db);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    const counterBefore = ctx.counter.snapshot();
    const cpuBefore = process.cpuUsage();
    ctx.counter.discard();
    delay.enable();
    const began = performance.now();
    await writeFile(goFile, 'go\n');
    let stored = 0;
    let lastGrowth = began;
    let lastReport = began;
    await pollUntil(`${total} log lines stored`, 600_000, 50, async () => {
      const { rows } = await sql<{ n: string | null; ended: string }>`
        SELECT sum(log_lines) AS n, count(*) FILTER (WHERE status = 'ended') AS ended
        FROM sessions WHERE goal_id = ${goalId}`.execute(rig.db);
      const now = Number(rows[0]!.n ?? 0);
      if (now > stored) {
        stored = now;
        lastGrowth = performance.now();
      }
      if (performance.now() - lastReport > 2000) {
        lastReport = performance.now();
        note(`logs: ${stored} of ${total} lines stored after ${seconds(lastReport - began)}`);
      }
      // A session records its end only after its last flush: when all have ended, nothing more is coming.
      return stored >= total || Number(rows[0]!.ended) === logSessions;
    });
    // The last line stored ends the window (lines that were lost never are).
    const ended = lastGrowth;
    delay.disable();
    const cpu = process.cpuUsage(cpuBefore);
    const counterAfter = ctx.counter.snapshot();

    const end = await waitForGoalEnd(rig, goalId, 120_000);
    if (end.status !== 'succeeded') throw new Error(`log goal ended ${end.status}: ${await goalErrors(rig.db, goalId)}`);
    const { rows } = await sql<{ rows: string; lines: string; dropped: string }>`
      SELECT (SELECT count(*) FROM session_logs l JOIN sessions s ON s.id = l.session_id WHERE s.goal_id = ${goalId}) AS rows,
             (SELECT sum(log_lines) FROM sessions WHERE goal_id = ${goalId}) AS lines,
             (SELECT sum(log_dropped) FROM sessions WHERE goal_id = ${goalId}) AS dropped`.execute(rig.db);
    const check = rows[0]!;
    if (Number(check.rows) !== stored || Number(check.lines) !== stored || Number(check.dropped) !== 0) {
      throw new Error(`logs: ${stored} lines counted, but found ${check.rows} rows, log_lines ${check.lines}, dropped ${check.dropped}`);
    }
    const lost = total - stored;
    if (lost > 0) {
      const { rows: short } = await sql<{ id: string; lines: string }>`
        SELECT id, log_lines AS lines FROM sessions WHERE goal_id = ${goalId} AND log_lines <> ${logLinesPerSession}`.execute(rig.db);
      const which = short.map((r) => `${r.id.slice(0, 8)} stored ${r.lines}`).join(', ');
      note(`logs: LOST ${lost} of ${total} lines: every session ended, these short (the runner logged "session log lines lost"): ${which}`);
      ctx.failures.push(`session logs: ${lost} of ${total} lines printed by the agents were never stored (${which})`);
    }

    const secs = (ended - began) / 1000;
    const ms = (ns: number) => ns / 1e6;
    note(
      `logs: ${stored} lines from ${logSessions} sessions stored in ${secs.toFixed(2)} s; ` +
        `event loop delay p50 ${ms(delay.percentile(50)).toFixed(1)}, p99 ${ms(delay.percentile(99)).toFixed(1)}, ` +
        `max ${ms(delay.max).toFixed(1)} ms; this process used ${((cpu.user + cpu.system) / 1e6 / secs).toFixed(2)} cores`,
    );
    note(`logs: ${describeDelta(counterBefore, counterAfter, stored / 1000, '1000 lines')}`);
    ctx.counter.report('logs');
    figure('session.log_lines_per_s', stored / secs, 'lines/s', 0);
    figure('session.event_loop_delay_p99', ms(delay.percentile(99)), 'ms', 1);
    if (lost > 0) figure('session.log_lines_lost', lost, 'lines', 0);
  });
}

// ---------------------------------------------------------------------------
// session.rss_peak_mb

const RSS_AGENT_LINES = 2_000_000;
const RSS_LOG_MAX_LINES = 20_000;
const MIB = 1024 * 1024;

async function measureOutputMemory(ctx: BenchContext, rig: Rig, tmp: string): Promise<void> {
  const repo = await generateRepo(path.join(tmp, 'rss-repo'), 20);
  const goFile = path.join(tmp, `go-rss-${randomBytes(3).toString('hex')}`);
  const argv = [process.execPath, LOG_AGENT, goFile, String(RSS_AGENT_LINES)];

  await withSessionOrchestrator(ctx, rig, 'rss', path.join(tmp, 'worktrees-rss'), argv, { maxSessions: 1, logMaxLines: RSS_LOG_MAX_LINES }, async () => {
    const specs: TaskSpec[] = [{ key: 'print', title: 'Print', instructions: 'print as fast as you can', session_policy: 'spawn' }];
    const { goalId } = await createGoal(rig.db, 'bench rss', repo.path, 'command', specs, 'sequential', 1);
    await pollUntil('the rss session running', 120_000, 20, async () => {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM sessions WHERE goal_id = ${goalId} AND status = 'running'`.execute(rig.db);
      return Number(rows[0]!.n) >= 1;
    });

    const before = process.memoryUsage.rss();
    const maxRssBefore = process.resourceUsage().maxRSS * 1024;
    let sampled = before;
    const sampler = setInterval(() => {
      sampled = Math.max(sampled, process.memoryUsage.rss());
    }, 10);
    const t = performance.now();
    try {
      await writeFile(goFile, 'go');
      const end = await waitForGoalEnd(rig, goalId, 600_000);
      if (end.status !== 'succeeded') throw new Error(`rss goal ended ${end.status}: ${await goalErrors(rig.db, goalId)}`);
    } finally {
      clearInterval(sampler);
    }
    const elapsed = performance.now() - t;
    const maxRssAfter = process.resourceUsage().maxRSS * 1024;
    const peak = Math.max(sampled, maxRssAfter > maxRssBefore ? maxRssAfter : 0);

    const { rows } = await sql<{ rows: string; lines: string; dropped: string }>`
      SELECT (SELECT count(*) FROM session_logs l JOIN sessions s ON s.id = l.session_id WHERE s.goal_id = ${goalId} AND l.seq > 0) AS rows,
             (SELECT sum(log_lines) FROM sessions WHERE goal_id = ${goalId}) AS lines,
             (SELECT sum(log_dropped) FROM sessions WHERE goal_id = ${goalId}) AS dropped`.execute(rig.db);
    const check = rows[0]!;
    note(
      `rss: ${RSS_AGENT_LINES} lines printed in ${seconds(elapsed)}; RSS before ${(before / MIB).toFixed(0)} MB, ` +
        `peak ${(peak / MIB).toFixed(0)} MB; stored ${check.rows} rows, log_lines ${check.lines}, dropped ${check.dropped}`,
    );
    if (Number(check.rows) + Number(check.dropped) !== RSS_AGENT_LINES) {
      ctx.failures.push(`rss: ${check.rows} lines kept + ${check.dropped} counted as dropped <> ${RSS_AGENT_LINES} printed`);
    }
    figure('session.rss_peak_mb', peak / MIB, 'MB', 0);
  });
}

// ---------------------------------------------------------------------------
// shared

/**
 * Runs `work` with an orchestrator whose runner is the real
 * AgentSessionRunner, its `command` agent being `argv`, its git started from
 * a spawner process as the server's is; always stopped.
 */
export async function withSessionOrchestrator(
  ctx: BenchContext,
  rig: Rig,
  label: string,
  worktreeRoot: string,
  argv: string[],
  options: { maxSessions: number; logMaxLines: number },
  work: (worktrees: WorktreeManager) => Promise<void>,
): Promise<void> {
  const instanceId = `bench-${label}-${randomBytes(3).toString('hex')}`;
  const agentSettings: AgentSettings = {
    claude: { bin: 'claude', permissionMode: 'acceptEdits', extraArgs: [] },
    codex: { bin: 'codex', sandbox: 'workspace-write', extraArgs: [] },
    command: { argv },
  };
  const adapters = new Map<AgentName, AgentAdapter>();
  const agentFor = (name: AgentName): AgentAdapter => {
    if (!adapters.has(name)) adapters.set(name, createAgentAdapter(name, agentSettings));
    return adapters.get(name)!;
  };
  const settings: SessionSettings = {
    instanceId,
    apiUrl: () => 'http://127.0.0.1:9',
    baseEnv: agentEnv(),
    taskTimeoutMs: 600_000,
    stallTimeoutMs: 0,
    killGraceMs: 2_000,
    agentNice: ctx.settings.agentNice,
    resultGraceMs: 2_000,
    logMaxLines: options.logMaxLines,
    keepFailedWorktrees: false,
    ports: null,
  };
  const spawner = new SpawnerProcess();
  const worktrees = new WorktreeManager({ root: worktreeRoot, env: process.env, spawner });
  const runner = new AgentSessionRunner({ db: rig.db, logger: ctx.logger, worktrees, agentFor, spawner }, settings);
  // As a production instance runs (see rig.ts), with room for the sessions and no spawn rate limit.
  await withRunningOrchestrator(rig, label, runner, { ...benchOptions(label), instanceId, maxSessions: options.maxSessions, stopGraceMs: 5_000 }, () =>
    work(worktrees),
  );
}

/** The agents' environment: ours, without git's hook variables, Claude Code's markers or the database URL. */
function agentEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('GIT_') || name.startsWith('ARBOR_') || name.startsWith('CLAUDE')) continue;
    if (name === 'DATABASE_URL') continue;
    env[name] = value;
  }
  return env;
}

/** Stores a goal as the API does; returns its id and the wall-clock moment its commit was acknowledged. */
export async function createGoal(
  db: Db,
  title: string,
  repo: string,
  agent: AgentName,
  specs: TaskSpec[],
  childrenMode: ChildrenMode,
  maxParallel: number,
): Promise<{ goalId: string; readyAt: number }> {
  const plan = planGoalTree(specs, childrenMode, { maxTasks: Math.max(specs.length, 1), maxDepth: 8 });
  if (!plan.ok) throw new Error(`goal plan rejected: ${JSON.stringify(plan.errors.slice(0, 3))}`);
  const { goal } = await insertGoalTree(
    db,
    { title, description: '', repo, baseRef: 'main', agent, childrenMode, maxParallel, metadata: {} },
    plan.tasks,
  );
  return { goalId: goal.id, readyAt: wallClockMs() };
}

/** Each task of the goal with its status and error, for the message of a goal that did not succeed. */
export async function goalErrors(db: Db, goalId: string): Promise<string> {
  const rows = await db.selectFrom('tasks').select(['key', 'status', 'error']).where('goalId', '=', goalId).execute();
  return rows.map((r) => `${r.key} ${r.status}${r.error ? `: ${r.error}` : ''}`).join('; ');
}

/**
 * tmpfs when the machine has one. On a disk, what a checkout of 10,000 files
 * costs depends on the filesystem's state more than on git: on ext4 without a
 * journal (as on the VMs this bench was written on) every new inode skips the
 * ones freed in the last minute by scanning for them, and a checkout right
 * after another worktree was removed takes 5x as long as the first one (perf:
 * most of `git worktree add` in recently_deleted() under __ext4_new_inode).
 * Both sides of the ratio would measure that, not git or Arbor.
 * BENCH_SESSION_DIR puts them elsewhere.
 */
export async function defaultSessionDir(): Promise<string> {
  try {
    await access('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

/** The filesystem type of `dir`, for the log line: the figures depend on it. */
async function filesystemName(dir: string): Promise<string> {
  const magic = (await statfs(dir)).type;
  const known: Record<number, string> = { 0x01021994: 'tmpfs', 0xef53: 'ext2/3/4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };
  return known[magic] ?? `filesystem type 0x${magic.toString(16)}`;
}

export async function pollUntil(what: string, timeoutMs: number, intervalMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** git in `cwd`, without the GIT_* variables of a git hook the bench may have been started from. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  const { stdout } = await execFileAsync('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
