/**
 * One agent run: its prompt, environment, ports and log; the process started,
 * watched and ended; what it printed and reported turned into the run's
 * outcome, result and cost.
 */
import { randomUUID } from 'node:crypto';
import { buildPrompt } from '../domain/prompt.js';
import { NO_TOTALS, runUsage } from '../domain/run-usage.js';
import type { TaskResult } from '../domain/task-rules.js';
import { readReportedPullRequest } from '../store/pull-requests.js';
import { releasePortBlock, takePortBlock } from '../store/port-blocks.js';
import { conversationTotalsOf, markSessionRunning, readAgentReport } from '../store/sessions.js';
import { startTaskRun } from '../store/task-runs.js';
import { getTaskContext } from '../store/tasks.js';
import { childEnvironment, startAgentProcess, type ProcessEnd } from './agent-process.js';
import type { McpLaunch } from './agents/index.js';
import { decideOutcome, describeEnd } from './outcome.js';
import { describe, type AgentRunEnd, type AgentRunRequest, type RunnerContext } from './runner-context.js';
import { SessionLog } from './session-log.js';

/** The variable that carries a run's task token; the MCP wiring names it instead of the token. */
const TOKEN_ENV = 'ARBOR_TASK_TOKEN';

/** A live run, for stop requests. */
export interface LiveRun {
  sessionId: string;
  /** The worktree it runs in: never swept while it runs. */
  cwd: string;
  stop(): void;
}

export interface LaunchContext extends Pick<RunnerContext, 'deps' | 'settings' | 'host' | 'persist' | 'permanentIfExplained'> {
  live: Map<string, LiveRun>;
}

/** Starts the agent in `cwd`, streams its output to the session log, and waits for it to end. */
export async function launchAgent(ctx: LaunchContext, run: AgentRunRequest): Promise<AgentRunEnd> {
  const { deps, settings } = ctx;
  const { assignment, agent, session, cwd, token, conversationId, continuing, notes } = run;
  const { task, goal, signal } = assignment;
  const context = await ctx.persist(() => getTaskContext(deps.db, task));
  const prompt = buildPrompt({
    goal: { title: goal.title, description: goal.description, branch: goal.branch },
    task: { key: task.key, title: task.title, instructions: task.instructions, acceptance: task.acceptance },
    parent: context.parent,
    dependencies: context.dependencies,
    previousFailure: task.error,
    route: task.route,
    talkBack: agent.usesMcp ? 'mcp' : 'rest',
    ...(continuing ? { continuing } : {}),
  });
  // The run on record (for the dashboard) before it writes a line: the prompt as the agent gets it, where it starts from.
  // Without the git dirs a sandboxed agent cannot commit; an agent that could not tell is no worse off than before.
  const { head: baseSha, gitDirs: writableDirs } = await deps.worktrees.headAndGitDirs(cwd).catch((err) => {
    deps.logger.warn({ err: describe(err), cwd }, 'head and git dirs of the worktree not found');
    return { head: null, gitDirs: [] };
  });
  await ctx.persist(() => startTaskRun(deps.db, { id: randomUUID(), taskId: task.id, sessionId: session.id, attempt: assignment.attempt, prompt, baseSha }));
  const log = new SessionLog(deps.db, session.id, { maxLines: settings.logMaxLines, logger: deps.logger });
  for (const note of notes ?? []) log.push('event', note);
  const parser = agent.parser();
  const apiUrl = settings.apiUrl();
  const mcp: McpLaunch | null = agent.usesMcp ? { url: `${apiUrl.replace(/\/+$/, '')}/mcp`, tokenEnv: TOKEN_ENV } : null;
  // Unique on this host whichever instance hands it out; none free: the agent runs without one.
  const ports = settings.ports
    ? await ctx.persist(() => takePortBlock(deps.db, settings.ports!, { host: ctx.host, owner: settings.instanceId, sessionId: session.id }))
    : null;
  const env = childEnvironment(settings.baseEnv, {
    ARBOR_API_URL: apiUrl,
    ARBOR_GOAL_ID: goal.id,
    ARBOR_TASK_ID: task.id,
    ARBOR_SESSION_ID: session.id,
    [TOKEN_ENV]: token,
    ...(ports ? { ARBOR_PORT_BASE: String(ports.base), ARBOR_PORT_COUNT: String(ports.count) } : {}),
    // git's last resort for an author e-mail, below any user.email the agent's git config sets:
    // without it, an agent user with no git identity (a fresh container user) cannot commit.
    EMAIL: settings.baseEnv.EMAIL ?? 'agent@arbor.invalid',
  });
  const timeoutMs = task.timeoutS ? task.timeoutS * 1000 : settings.taskTimeoutMs;

  let end: ProcessEnd;
  let stoppedOnRequest = false;
  try {
    const launch = agent.launch({ prompt, conversationId, newConversationId: randomUUID(), mcp, writableDirs });
    const proc = startAgentProcess({
      file: launch.file,
      args: launch.args,
      cwd,
      env,
      user: settings.agentUser ?? null,
      nice: settings.agentNice ?? 0,
      stdin: launch.stdin,
      timeoutMs,
      stallMs: settings.stallTimeoutMs,
      killGraceMs: settings.killGraceMs,
      flow: log,
      onLine: (stream, text) => {
        const line = parser.line(stream, text);
        log.push(line.stream, line.text);
        // Only a structured event can say the agent is done; skip building a report for every plain line.
        if (line.stream === 'event' && parser.report().finished) proc.finishSoon(settings.resultGraceMs);
      },
    });
    const onAbort = () => proc.stop('stopped');
    signal.addEventListener('abort', onAbort);
    // Cancelled between the claim and the spawn: the listener above came too late.
    if (signal.aborted) onAbort();
    ctx.live.set(session.id, {
      sessionId: session.id,
      cwd,
      stop: () => {
        stoppedOnRequest = true;
        proc.stop('stopped');
      },
    });
    void proc.started
      // Without its pid on record, the agent could not be found and ended should this process die.
      .then((started) => (started ? ctx.persist(() => markSessionRunning(deps.db, session.id, started)) : undefined))
      .catch((err) => deps.logger.warn({ err, session: session.id }, 'session pid not recorded'));
    end = await proc.done;
    signal.removeEventListener('abort', onAbort);
  } catch (err) {
    end = { reason: 'failed_to_start', exitCode: null, signal: null, error: describe(err) };
  } finally {
    ctx.live.delete(session.id);
    if (ports) {
      const block = { host: ctx.host, slot: ports.slot, owner: settings.instanceId };
      await ctx.persist(() => releasePortBlock(deps.db, block)).catch((err) => deps.logger.warn({ err: describe(err) }, 'port block not released'));
    }
  }
  await log.flush();

  const parsed = parser.report();
  // A resumed conversation's running totals count from where its last run left them; a new one's
  // (the agent may have started one when the resume failed) from nothing.
  const resumed = conversationId !== null && (parsed.conversationId === null || parsed.conversationId === conversationId);
  const usage = runUsage(parsed, resumed ? conversationTotalsOf(session) : NO_TOTALS);
  const reported = await ctx.persist(() => readAgentReport(deps.db, session.id));
  const pullRequest = await ctx.persist(() => readReportedPullRequest(deps.db, session.id));
  const result: TaskResult = {
    summary: reported?.kind === 'complete' && reported.summary ? reported.summary : (parsed.summary ?? undefined),
    ...(reported?.kind === 'complete' && reported.artifacts !== undefined ? { artifacts: reported.artifacts } : {}),
    ...(pullRequest ? { pull_request: pullRequest } : {}),
    session_id: session.id,
    cost_usd: usage.run.costUsd,
    input_tokens: usage.run.inputTokens,
    output_tokens: usage.run.outputTokens,
  };
  let outcome = decideOutcome({
    end,
    parsed,
    reported,
    stoppedOnRequest,
    limits: { timeoutS: Math.round(timeoutMs / 1000), stallS: Math.round(settings.stallTimeoutMs / 1000) },
    onPermissionDenial: settings.onPermissionDenial ?? 'fail',
    result,
  });
  if (end.reason === 'failed_to_start') outcome = await ctx.permanentIfExplained(outcome, { repo: goal.repo, baseRef: null, agent: agent.name });
  return {
    outcome,
    result: outcome.result ?? result,
    sessionEnd: {
      endReason: describeEnd(end),
      exitCode: end.exitCode,
      exitSignal: end.signal,
      agentSessionId: parsed.conversationId,
      usage: usage.run,
      conversationTotals: usage.totals,
    },
  };
}
