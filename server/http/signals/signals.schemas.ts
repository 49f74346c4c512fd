import { z } from '@hono/zod-openapi';
import type { Signal } from '../../store/signals.js';
import type { TaskLabel } from '../../store/task-labels.js';

const attributeValue = z.union([z.string().min(1).max(500), z.number()]);

/** Fields about the signal itself; every other field is an attribute gates match on. */
export const SIGNAL_FIELDS = ['type', 'status', 'summary', 'artifacts', 'idempotency_key'] as const;

export const ResolveSignalSchema = z
  .object({
    type: z.string().min(1).max(64).openapi({ example: 'gh_ci' }),
    status: z.enum(['pass', 'fail']),
    repo: z.string().max(200).optional().openapi({ example: 'acme/web' }),
    pr: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).optional().openapi({ example: 42 }),
    pr_url: z.string().max(500).optional(),
    sha: z.string().max(64).optional(),
    summary: z.string().max(50_000).optional(),
    artifacts: z.unknown().optional(),
    idempotency_key: z.string().min(1).max(300).optional(),
  })
  .catchall(attributeValue)
  .openapi('ResolveSignal', {
    description: 'Any further string or number field is an attribute that gates of custom types can match on.',
  });

export const ResolveResultSchema = z
  .object({ signal_id: z.uuid(), matched: z.array(z.uuid()), duplicate: z.boolean() })
  .openapi('ResolveResult');

export const MatchedGateSchema = z
  .object({ task_id: z.uuid(), task_key: z.string(), goal_id: z.uuid(), goal_title: z.string() })
  .openapi('MatchedGate');

export const SignalSchema = z
  .object({
    id: z.uuid(),
    type: z.string(),
    attributes: z.record(z.string(), z.union([z.string(), z.number()])),
    status: z.enum(['pass', 'fail']),
    summary: z.string().nullable(),
    artifacts: z.unknown().nullable(),
    idempotency_key: z.string().nullable(),
    source: z.enum(['api', 'github', 'task']),
    matched_task_ids: z.array(z.uuid()).openapi({ description: 'gates this signal matched, including gates that applied it when they opened later' }),
    matched: z.array(MatchedGateSchema).openapi({ description: 'those gates, named (a gate whose goal was deleted is left out)' }),
    received_at: z.string(),
  })
  .openapi('Signal');

export function toSignalJson(s: Signal, labels: ReadonlyMap<string, TaskLabel>): z.infer<typeof SignalSchema> {
  return {
    id: s.id,
    type: s.type,
    attributes: s.attributes,
    status: s.status,
    summary: s.summary,
    artifacts: s.artifacts,
    idempotency_key: s.idempotencyKey,
    source: s.source,
    matched_task_ids: s.matchedTaskIds,
    matched: s.matchedTaskIds.flatMap((id) => {
      const label = labels.get(id);
      return label ? [{ task_id: id, task_key: label.taskKey, goal_id: label.goalId, goal_title: label.goalTitle }] : [];
    }),
    received_at: s.receivedAt.toISOString(),
  };
}
