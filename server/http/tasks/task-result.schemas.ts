import { z } from '@hono/zod-openapi';

/**
 * What a finished task keeps as its `result`. Which fields are there depends
 * on how it finished: an agent run (summary, cost, the branch it worked on and
 * its merge), a gate (the signals that passed it), a review (the approval).
 * Fields not listed may appear (the agent's own artifacts travel as given).
 */
export const TaskResultSchema = z
  .object({
    summary: z.string().nullable().optional().openapi({ description: "the agent's final word, or the deciding signal's summary" }),
    artifacts: z.unknown().optional().openapi({ description: 'what the agent or signal reported, as given' }),
    session_id: z.string().optional(),
    cost_usd: z.number().optional().openapi({ description: 'this run alone' }),
    input_tokens: z.number().optional(),
    output_tokens: z.number().optional(),
    permission_denials: z.array(z.unknown()).optional().openapi({ description: 'tools the agent was denied (when denials are only noted)' }),
    pull_request: z
      .object({ url: z.string(), head_sha: z.string().optional(), repo: z.string(), number: z.number().int() })
      .optional()
      .openapi({ description: 'the pull request the agent reported or Arbor opened' }),
    branch: z.string().optional().openapi({ description: 'the branch the run worked on' }),
    goal_branch: z.string().optional(),
    base: z.string().optional().openapi({ description: 'the commit the run started from' }),
    head: z.string().optional().openapi({ description: 'the branch head when the run ended' }),
    commits: z.array(z.object({ sha: z.string(), subject: z.string() })).optional(),
    diffstat: z.object({ files: z.number().int(), insertions: z.number().int(), deletions: z.number().int() }).optional(),
    merge: z.string().optional().openapi({ description: 'the commit that put the work on the goal branch' }),
    signal_ids: z.array(z.string()).optional().openapi({ description: 'gates: the signals that passed it' }),
    timed_out: z.boolean().optional(),
    passed_on_timeout: z.boolean().optional(),
    approved: z.boolean().optional().openapi({ description: 'reviews: approved by a person' }),
    comment: z.string().optional(),
  })
  .catchall(z.unknown())
  .openapi('TaskResult');
