/**
 * What the parts of the session runner share: its settings and dependencies,
 * and the steps the pinned lane and spawned runs both take.
 */
import type { Db } from '../db/database.js';
import type { PromptInput } from '../domain/prompt.js';
import type { AgentName } from '../domain/states.js';
import type { TaskOutcome, TaskResult } from '../domain/task-rules.js';
import type { Logger } from '../logger.js';
import type { GoalPreflight, GoalRequirements, SessionAssignment } from '../orchestrator/session-runner.js';
import type { Session, SessionRunEnd } from '../store/sessions.js';
import type { AgentAdapter } from './agents/index.js';
import type { AgentUser } from './agent-user.js';
import type { GoalRepo, GoalRepos } from './goal-repo.js';
import type { RepoMirrors } from './repo-mirror.js';
import type { SpawnerProcess } from './spawner/command-spawner.js';
import { WorktreeError, type WorktreeManager } from './worktrees.js';

export interface SessionSettings {
  instanceId: string;
  /** How agents reach the API; resolved when the first session starts (the port may be chosen at listen time). */
  apiUrl: () => string;
  baseEnv: Record<string, string>;
  taskTimeoutMs: number;
  stallTimeoutMs: number;
  killGraceMs: number;
  resultGraceMs: number;
  logMaxLines: number;
  keepFailedWorktrees: boolean;
  /** Port blocks for agents, unique per host across instances (held in the database); null: none. */
  ports: { base: number; perSession: number } | null;
  /** The lease of a pinned lane this instance holds, renewed by its heartbeat; absent: 30 s. */
  laneLeaseMs?: number;
  /** What a run whose agent was denied a tool comes to; absent: 'fail'. */
  onPermissionDenial?: 'fail' | 'note';
  /** The user agents run as; null or absent: Arbor's own. */
  agentUser?: AgentUser | null;
  /** Scheduling niceness of agent processes (0-19); absent or 0: Arbor's own priority. */
  agentNice?: number;
}

export interface SessionRunnerDeps {
  db: Db;
  logger: Logger;
  worktrees: WorktreeManager;
  agentFor(name: AgentName): AgentAdapter;
  /** This instance's mirrors of remote repositories; absent: goals on remotes cannot run here. */
  mirrors?: RepoMirrors | null;
  /** What a goal needs of this machine; it also tells a failed start that cannot heal. */
  preflight?: GoalPreflight;
  /** Where the sessions' git is started from; ended when the runner stops. Absent: this process. */
  spawner?: SpawnerProcess;
}

/** How one agent run ended: the task's outcome, the result it carries, and what the session records. */
export interface AgentRunEnd {
  outcome: TaskOutcome;
  result: TaskResult;
  sessionEnd: Omit<SessionRunEnd, 'status'>;
}

export type Goal = SessionAssignment['goal'];

/** One agent run to make: in `cwd`, with this run's task token, resuming `conversationId` or starting anew. */
export interface AgentRunRequest {
  assignment: SessionAssignment;
  agent: AgentAdapter;
  session: Session;
  cwd: string;
  token: string;
  conversationId: string | null;
  /** A spawned branch that holds an earlier attempt's work. */
  continuing?: PromptInput['continuing'];
  /** Lines for the session log before the agent's own (e.g. why a fresh conversation started). */
  notes?: string[];
}

export interface RunnerContext {
  readonly deps: SessionRunnerDeps;
  readonly settings: SessionSettings;
  readonly host: string;
  persist<T>(work: () => Promise<T>): Promise<T>;
  readonly repos: GoalRepos;
  goalBranch(goal: Goal, where: GoalRepo): Promise<{ branch: string; head: string }>;
  keepLeftovers(worktree: string, taskKey: string, outcome: TaskOutcome): Promise<TaskOutcome>;
  permanentIfExplained(outcome: TaskOutcome, needs: GoalRequirements): Promise<TaskOutcome>;
  runAgent(run: AgentRunRequest): Promise<AgentRunEnd>;
  endStaleSession(session: Session, reason: string): Promise<void>;
}

/** The end of a run that never got going. */
export const NO_RUN: Omit<SessionRunEnd, 'status' | 'endReason'> = {
  exitCode: null,
  exitSignal: null,
  agentSessionId: null,
  usage: { costUsd: 0, inputTokens: 0, outputTokens: 0 },
  conversationTotals: null,
};

/** What setting up a goal's branch needs: its repository, and base_ref until the branch exists. */
export function repoNeeds(goal: Goal): GoalRequirements {
  return { repo: goal.repo, baseRef: goal.branch ? null : goal.baseRef, agent: null };
}

export function describe(err: unknown): string {
  if (err instanceof WorktreeError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
