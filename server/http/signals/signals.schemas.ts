import { z } from '@hono/zod-openapi';
import type { Signal } from '../../store/signals.js';

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
    received_at: z.string(),
  })
  .openapi('Signal');

export function toSignalJson(s: Signal): z.infer<typeof SignalSchema> {
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
    received_at: s.receivedAt.toISOString(),
  };
}
