import { z } from '@hono/zod-openapi';
import type { SessionWithTaskKey } from '../../store/sessions.js';
import { iso } from '../tasks/tasks.schemas.js';

export const SessionSchema = z
  .object({
    id: z.uuid(),
    goal_id: z.uuid(),
    task_id: z.uuid().nullable().openapi({ description: 'the task of its current or last run' }),
    task_key: z.string().nullable().openapi({ description: "that task's key" }),
    kind: z.enum(['pinned', 'spawned']),
    agent: z.string(),
    status: z.enum(['starting', 'running', 'idle', 'ended']),
    worktree_path: z.string().nullable(),
    branch: z.string().nullable(),
    base_sha: z.string().nullable(),
    agent_session_id: z.string().nullable().openapi({ description: "the agent's own conversation id" }),
    host: z.string().nullable(),
    pid: z.number().int().nullable(),
    attempt: z.number().int().nullable(),
    owner: z.string().nullable(),
    end_reason: z.string().nullable(),
    exit_code: z.number().int().nullable(),
    exit_signal: z.string().nullable(),
    cost_usd: z.number().openapi({ description: 'what its runs cost, each counted once' }),
    input_tokens: z.number(),
    output_tokens: z.number(),
    log_lines: z.number(),
    log_dropped: z.number().openapi({ description: 'lines not stored: never written (log_unwritten), or the oldest removed past the bound on kept lines' }),
    log_unwritten: z.number().openapi({ description: 'of log_dropped, the lines never written: the database took nothing for too long' }),
    stop_requested_at: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    ended_at: z.string().nullable(),
  })
  .openapi('Session');

export const LogLineSchema = z
  .object({ seq: z.number().int(), stream: z.enum(['stdout', 'stderr', 'event']), text: z.string(), at: z.string() })
  .openapi('SessionLogLine');

export function toSessionJson(s: SessionWithTaskKey): z.infer<typeof SessionSchema> {
  return {
    id: s.id,
    goal_id: s.goalId,
    task_id: s.taskId,
    task_key: s.taskKey,
    kind: s.kind,
    agent: s.agent,
    status: s.status,
    worktree_path: s.worktreePath,
    branch: s.branch,
    base_sha: s.baseSha,
    agent_session_id: s.agentSessionId,
    host: s.host,
    pid: s.pid,
    attempt: s.attempt,
    owner: s.owner,
    end_reason: s.endReason,
    exit_code: s.exitCode,
    exit_signal: s.exitSignal,
    cost_usd: Number(s.costUsd),
    input_tokens: Number(s.inputTokens),
    output_tokens: Number(s.outputTokens),
    log_lines: Number(s.logLines),
    log_dropped: Number(s.logDropped),
    log_unwritten: Number(s.logUnwritten),
    stop_requested_at: iso(s.stopRequestedAt),
    created_at: s.createdAt.toISOString(),
    started_at: iso(s.startedAt),
    ended_at: iso(s.endedAt),
  };
}
