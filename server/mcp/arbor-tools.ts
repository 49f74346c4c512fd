import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { parsePullRequest } from '../domain/pull-request.js';
import { CHILDREN_MODES } from '../domain/states.js';
import { MAX_JSON_DEPTH, findUnstorable } from '../domain/storable-text.js';
import type { Logger } from '../logger.js';
import { TaskSpecSchema } from '../goal-requests/goal-request.schemas.js';
import { getGoal } from '../store/goals.js';
import { recordPullRequest } from '../store/pull-requests.js';
import { recordAgentReport } from '../store/sessions.js';
import { addSubtasks, listSubtasks } from '../store/subtasks.js';
import { getTask, getTaskContext } from '../store/tasks.js';

/**
 * The tools an agent uses to talk back to Arbor. One server per request, bound
 * to the run its task token belongs to: every tool acts on that task only.
 */

export interface ToolDeps {
  db: Db;
  logger: Logger;
  config: Pick<Config, 'goals'>;
}

export interface AgentRun {
  taskId: string;
  sessionId: string;
}

const NOT_RUNNING = 'this run is over (or is not the current attempt of the task): nothing was recorded';

/** A refusal the agent can act on: shown to it as the tool's error text. */
class ToolRefusal extends Error {}

export function createArborMcpServer(deps: ToolDeps, run: AgentRun): McpServer {
  const server = new McpServer({ name: 'arbor', version: '0.1.0' });
  const tool = <Args>(handler: (args: Args) => Promise<unknown>) => async (args: Args): Promise<CallToolResult> => {
    try {
      const found = findUnstorable(args, MAX_JSON_DEPTH);
      if (found) throw new ToolRefusal(`invalid input: ${found.path.length ? `${found.path.join('.')}: ` : ''}${found.problem}`);
      const value = await handler(args);
      return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
    } catch (err) {
      if (err instanceof ToolRefusal) return { isError: true, content: [{ type: 'text', text: err.message }] };
      deps.logger.error({ err, task: run.taskId }, 'MCP tool failed');
      return { isError: true, content: [{ type: 'text', text: 'Arbor could not do this just now (internal error); try again shortly' }] };
    }
  };
  const recorded = (outcome: 'recorded' | 'not_running') => {
    if (outcome === 'not_running') throw new ToolRefusal(NOT_RUNNING);
    return { recorded: true };
  };

  server.registerTool(
    'arbor_complete',
    {
      title: 'Report the task done',
      description:
        'Call this once your task is finished and its acceptance criteria are met. `summary` says what you did and ' +
        'anything the next tasks should know; it is shown to them. Commit your work before calling. This decides ' +
        'the task as succeeded when your process exits (it overrides the exit code); calling it again replaces the report.',
      inputSchema: {
        summary: z.string().min(1).max(50_000).describe('what was done, for people and for the tasks that build on it'),
        artifacts: z.unknown().optional().describe('optional JSON: files, links, figures worth keeping with the result'),
      },
    },
    tool(async ({ summary, artifacts }: { summary: string; artifacts?: unknown }) =>
      recorded(await recordAgentReport(deps.db, run.taskId, { kind: 'complete', summary, artifacts }, run.sessionId)),
    ),
  );

  server.registerTool(
    'arbor_block',
    {
      title: 'Report the task blocked',
      description:
        'Call this when you cannot finish without a person: missing access, unclear or contradictory instructions, ' +
        'a decision that is not yours to make. `reason` says exactly what is needed. The task stops as blocked when your ' +
        'process exits and is not retried until a person acts. Do not use it for ordinary errors you can fix yourself.',
      inputSchema: { reason: z.string().min(1).max(10_000).describe('what you need, and from whom') },
    },
    tool(async ({ reason }: { reason: string }) => recorded(await recordAgentReport(deps.db, run.taskId, { kind: 'block', reason }, run.sessionId))),
  );

  server.registerTool(
    'arbor_task_context',
    {
      title: 'Read your task and its place in the goal',
      description:
        'Returns your task (key, title, instructions, acceptance, attempt, why the previous attempt failed), its goal ' +
        '(title, description, branch), its parent, what the tasks it depends on reported, and the subtasks you added.',
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    tool(async () => {
      const task = await getTask(deps.db, run.taskId);
      if (!task) throw new ToolRefusal('the task no longer exists');
      const [goal, context, subtasks] = await Promise.all([getGoal(deps.db, task.goalId), getTaskContext(deps.db, task), listSubtasks(deps.db, task.id)]);
      return {
        task: {
          key: task.key,
          title: task.title,
          instructions: task.instructions,
          acceptance: task.acceptance,
          attempt: task.attempt - task.attemptFloor,
          max_attempts: task.maxAttempts,
          // Why the last try ended (a failure, a block, a rejection's feedback), for a task that runs again.
          previous_error: task.error,
        },
        goal: goal ? { title: goal.title, description: goal.description, branch: goal.branch } : null,
        parent: context.parent,
        dependencies: context.dependencies,
        subtasks,
      };
    }),
  );

  server.registerTool(
    'arbor_report_pull_request',
    {
      title: 'Report the pull request you opened',
      description:
        'Call this after opening a pull request for your work. `url` is its page, ' +
        'https://<host>/<owner>/<repo>/pull/<number>; `head_sha` the commit it was opened at, if you know it. ' +
        "It is kept with the task's result (result.pull_request). It does not finish the task: still call arbor_complete.",
      inputSchema: {
        url: z.string().min(1).max(2_000).describe('https://<host>/<owner>/<repo>/pull/<number>'),
        head_sha: z.string().max(64).optional().describe('the commit the pull request was opened at (hex)'),
      },
    },
    tool(async ({ url, head_sha }: { url: string; head_sha?: string }) => {
      const parsed = parsePullRequest(url, head_sha);
      if (!parsed.ok) throw new ToolRefusal(`invalid input: ${parsed.error}`);
      recorded(await recordPullRequest(deps.db, run, parsed.pullRequest));
      return { recorded: true, pull_request: parsed.pullRequest };
    }),
  );

  server.registerTool(
    'arbor_add_subtasks',
    {
      title: 'Split your task into subtasks',
      description:
        'Adds tasks under your own task; Arbor runs them after you finish, each with its own agent. Same shape as a ' +
        "goal's tasks: key (unique in the goal), title, instructions, acceptance, depends_on (keys of the new tasks or " +
        "of tasks already in the goal), children, kind, ... By default they run in sequence, one after another; " +
        "children_mode 'parallel' runs them side by side. Nothing you add starts before your own run succeeds; your " +
        'task then succeeds when all of them do, and fails if one fails. So do the part you can do now, commit it, add ' +
        'the rest as subtasks, and call arbor_complete with what you did and what you left to them.',
      inputSchema: {
        tasks: z.array(TaskSpecSchema).min(1).max(1000).describe('the new tasks'),
        children_mode: z.enum(CHILDREN_MODES).optional().describe("'sequential' (default) or 'parallel'"),
      },
    },
    tool(async ({ tasks, children_mode }: { tasks: z.infer<typeof TaskSpecSchema>[]; children_mode?: (typeof CHILDREN_MODES)[number] }) => {
      const added = await addSubtasks(deps.db, run, tasks, children_mode, {
        maxTasks: deps.config.goals.maxTasksPerGoal,
        maxDepth: deps.config.goals.maxTreeDepth,
      });
      if (added.outcome === 'not_running') throw new ToolRefusal(NOT_RUNNING);
      if (added.outcome === 'invalid') {
        throw new ToolRefusal(`invalid input: ${added.errors.map((e) => (e.task ? `task "${e.task}": ${e.message}` : e.message)).join('; ')}`);
      }
      return { added: added.tasks.map((t) => ({ id: t.id, key: t.key, title: t.title, kind: t.kind, depends_on: t.dependsOn })) };
    }),
  );

  return server;
}
