import { z } from '@hono/zod-openapi';
import { DIFF_FILE_STATUSES } from '../../domain/task-diff.js';
import type { TaskRun } from '../../store/task-runs.js';
import { iso } from './tasks.schemas.js';

export const TaskRunSchema = z
  .object({
    id: z.uuid(),
    task_id: z.uuid(),
    session_id: z.uuid(),
    attempt: z.number().int(),
    prompt: z.string().openapi({ description: 'the prompt the agent got, exactly' }),
    base_sha: z.string().nullable().openapi({ description: "the commit the run's worktree stood at when it started" }),
    log_from_seq: z.number().int().openapi({ description: "the first seq of this run's lines in its session's log" }),
    log_to_seq: z.number().int().nullable().openapi({ description: 'the last seq of its lines; null while it runs' }),
    started_at: z.string(),
    ended_at: z.string().nullable(),
    outcome: z.enum(['succeeded', 'failed', 'blocked', 'interrupted']).nullable().openapi({ description: 'null while it runs' }),
    error: z.string().nullable().openapi({ description: 'why it failed or was blocked' }),
  })
  .openapi('TaskRun');

export const TaskRunsSchema = z.object({ runs: z.array(TaskRunSchema) }).openapi('TaskRuns');

export const DiffFileSchema = z
  .object({
    path: z.string(),
    old_path: z.string().nullable().openapi({ description: 'for a rename, the path before' }),
    status: z.enum(DIFF_FILE_STATUSES),
    additions: z.number().int(),
    deletions: z.number().int(),
    binary: z.boolean(),
  })
  .openapi('DiffFile');

export const TaskDiffSchema = z
  .object({
    branch: z.string().nullable().openapi({ description: "the task's branch (a pinned task's is the goal branch); null before its first run" }),
    base_sha: z.string().nullable().openapi({ description: 'where the task started' }),
    head_sha: z.string().nullable(),
    files: z.array(DiffFileSchema),
    patch: z.string().openapi({ description: 'unified diff of head against base' }),
    truncated: z.boolean().openapi({ description: 'the patch was cut at 1 MiB (files are complete)' }),
    note: z.string().nullable().openapi({ description: 'why there is no diff although there is a branch; else null' }),
  })
  .openapi('TaskDiff');

export function toTaskRunJson(run: TaskRun): z.infer<typeof TaskRunSchema> {
  return {
    id: run.id,
    task_id: run.taskId,
    session_id: run.sessionId,
    attempt: run.attempt,
    prompt: run.prompt,
    base_sha: run.baseSha,
    log_from_seq: Number(run.logFromSeq),
    log_to_seq: run.logToSeq === null ? null : Number(run.logToSeq),
    started_at: run.startedAt.toISOString(),
    ended_at: iso(run.endedAt),
    outcome: run.outcome,
    error: run.error,
  };
}
