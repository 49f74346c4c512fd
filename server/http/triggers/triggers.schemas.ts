import { z } from '@hono/zod-openapi';
import type { TriggerRow, TriggerRunRow } from '../../store/triggers.js';
import { nextSlot } from '../../triggers/cron-slots.js';
import { PAYLOAD_PATH_PATTERN } from '../../triggers/github-match.js';
import { PARAMETER_NAME_PATTERN } from '../../templates/substitution.js';
import { TEMPLATE_NAME_PATTERN } from '../../templates/template-definition.js';
import { iso } from '../tasks/tasks.schemas.js';

const ParamsSchema = z.record(
  z.string().regex(PARAMETER_NAME_PATTERN, 'parameter names are lowercase letters, digits and "_"'),
  z.union([z.string().max(200_000), z.number(), z.boolean()]),
);

const ScheduleSchema = z.strictObject({
  cron: z.string().min(1).max(200).openapi({ example: '0 9 * * 1-5', description: 'five fields (or six, with seconds first)' }),
  time_zone: z.string().min(1).max(100).default('UTC').openapi({ example: 'Europe/Berlin', description: 'IANA time zone the cron is read in' }),
});

const GithubSchema = z.strictObject({
  event: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a GitHub event name like "pull_request"').openapi({ example: 'pull_request' }),
  action: z.string().min(1).max(100).optional().openapi({ example: 'opened' }),
  repository: z.string().min(3).max(200).regex(/^[^/\s]+\/[^/\s]+$/, 'must be owner/name').optional(),
  label: z.string().min(1).max(200).optional().openapi({ description: 'the label added, or one the pull request / issue carries' }),
  params_from: z
    .record(
      z.string().regex(PARAMETER_NAME_PATTERN, 'parameter names are lowercase letters, digits and "_"'),
      z.string().regex(PAYLOAD_PATH_PATTERN, 'must be a dotted path into the payload, like pull_request.html_url'),
    )
    .default({})
    .openapi({ description: 'parameters taken from the event payload: {parameter: "dotted.path"}' }),
});

export const CreateTriggerSchema = z
  .strictObject({
    template: z.string().regex(TEMPLATE_NAME_PATTERN, 'must be a template name'),
    params: ParamsSchema.default({}).openapi({ description: 'parameter values every goal of this trigger starts with' }),
    schedule: ScheduleSchema.optional(),
    github: GithubSchema.optional(),
  })
  .refine((t) => (t.schedule === undefined) !== (t.github === undefined), {
    message: 'a trigger has exactly one of schedule or github',
    path: ['schedule'],
  })
  .openapi('CreateTrigger');

export const TriggerSchema = z
  .object({
    id: z.uuid(),
    template: z.string(),
    params: z.record(z.string(), z.unknown()),
    schedule: z.object({ cron: z.string(), time_zone: z.string(), next_slot: z.string().nullable() }).nullable(),
    github: z
      .object({
        event: z.string(),
        action: z.string().optional(),
        repository: z.string().optional(),
        label: z.string().optional(),
        params_from: z.record(z.string(), z.string()),
      })
      .nullable(),
    last_run: z
      .object({ slot: z.string(), goal_id: z.string().nullable(), error: z.string().nullable(), at: z.string() })
      .nullable()
      .openapi({ description: 'the newest start: the goal it created, or why it could not' }),
    created_at: z.string(),
  })
  .openapi('Trigger');

export function toTriggerJson(row: TriggerRow, lastRun: TriggerRunRow | undefined, now = new Date()): z.infer<typeof TriggerSchema> {
  const filters = row.filters as { action?: string; repository?: string; label?: string };
  return {
    id: row.id,
    template: row.templateName,
    params: row.params,
    schedule:
      row.kind === 'schedule'
        ? { cron: row.cron!, time_zone: row.timeZone ?? 'UTC', next_slot: iso(nextSlot(row.cron!, row.timeZone ?? 'UTC', now)) }
        : null,
    github: row.kind === 'github' ? { event: row.event!, ...filters, params_from: row.paramsFrom } : null,
    last_run: lastRun ? { slot: lastRun.slot, goal_id: lastRun.goalId, error: lastRun.error, at: lastRun.createdAt.toISOString() } : null,
    created_at: row.createdAt.toISOString(),
  };
}
