import { z } from '@hono/zod-openapi';

/**
 * A gate as the API shows it: the normalized wire form the domain stores
 * (`gateToSpec` in server/domain/gate.ts). `pr_url` is already split into
 * `repo` + `pr`; attributes taken from an earlier task stay `{from}` in `gate`
 * and are filled in `gate_bound` once the gate opens.
 */

const GateFromSchema = z
  .object({ from: z.string().openapi({ description: 'the key of the task whose reported pull request fills this attribute' }) })
  .openapi('GateFrom');

const GateLeafSchema = z
  .object({
    type: z.string().openapi({ description: 'gh_ci, gh_review, centaur_review, human_approval or any lowercase name', example: 'gh_ci' }),
    repo: z.union([z.string(), GateFromSchema]).optional().openapi({ description: 'owner/name, lower case' }),
    pr: z.union([z.number().int(), GateFromSchema]).optional(),
    sha: z.union([z.string(), GateFromSchema]).optional(),
    checks: z.array(z.string()).optional().openapi({ description: 'gh_ci only: the checks that decide it; unset, every check does' }),
  })
  // Custom types' attributes are strings or numbers; the union also admits the named fields above, so that a
  // generated client's index signature does not contradict them.
  .catchall(z.union([z.string(), z.number(), GateFromSchema, z.array(z.string())]))
  .openapi('GateLeaf', { description: 'matches a signal of the same type whose attributes equal every attribute named here' });

export type GateConditionJson = z.infer<typeof GateLeafSchema> | { all: GateConditionJson[] } | { any: GateConditionJson[] };

export const GateConditionSchema: z.ZodType<GateConditionJson> = z
  .lazy(() =>
    z.union([
      GateLeafSchema,
      z.object({ all: z.array(GateConditionSchema).openapi({ description: 'every condition must pass' }) }),
      z.object({ any: z.array(GateConditionSchema).openapi({ description: 'one passing condition is enough' }) }),
    ]),
  )
  .openapi('GateCondition');

const GateOptionsSchema = z.object({
  on_timeout: z.enum(['fail', 'pass']).optional(),
  rework: z.number().int().optional().openapi({ description: 'how many times a failing signal may send the work back' }),
  timeout_s: z.number().int().optional(),
});

export const GateSchema = z.intersection(GateConditionSchema, GateOptionsSchema).openapi('Gate');
