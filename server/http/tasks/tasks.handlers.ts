import { recordAgentReport, type AgentReport } from '../../store/sessions.js';
import { approveTask, rejectTask, retryTask as retry, signalGate, type TaskCommandResult } from '../../store/task-commands.js';
import { addSubtasks as addTasksUnder } from '../../store/subtasks.js';
import { getTask as findTask } from '../../store/tasks.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler, Caller } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import type * as routes from './tasks.routes.js';
import { toTaskJson } from './tasks.schemas.js';

export function taskHandlers({ db, config }: AppDeps) {
  const get: AppRouteHandler<typeof routes.getTask> = async (c) => {
    const { id } = c.req.valid('param');
    const task = isUuid(id) ? await findTask(db, id) : undefined;
    if (!task) throw notFound('task');
    return c.json(toTaskJson(task), 200);
  };

  const retryTask: AppRouteHandler<typeof routes.retryTask> = async (c) => {
    const { id } = c.req.valid('param');
    if (!isUuid(id)) throw notFound('task');
    const result = await retry(db, id);
    if (result.outcome === 'not_found') throw notFound('task');
    if (result.outcome === 'conflict') throw new ApiError(409, result.reason);
    // Read again for its dependencies, which the command's row does not carry.
    const task = await findTask(db, id);
    if (!task) throw notFound('task');
    return c.json({ task: toTaskJson(task) }, 200);
  };

  /** An agent's own word on its task, kept until its process exits; an agent's token speaks for its own session only. */
  const record = async (id: string, report: AgentReport, caller: Caller) => {
    if (!isUuid(id) || !(await findTask(db, id))) throw notFound('task');
    const sessionId = caller.kind === 'task' ? caller.sessionId : null;
    if ((await recordAgentReport(db, id, report, sessionId)) === 'not_running') {
      throw new ApiError(409, 'the task has no running session of its current attempt to report for');
    }
  };

  const complete: AppRouteHandler<typeof routes.completeTask> = async (c) => {
    const { summary, artifacts } = c.req.valid('json');
    await record(c.req.valid('param').id, { kind: 'complete', summary, artifacts }, c.get('caller'));
    return c.json({ recorded: true as const }, 200);
  };

  const block: AppRouteHandler<typeof routes.blockTask> = async (c) => {
    await record(c.req.valid('param').id, { kind: 'block', reason: c.req.valid('json').reason }, c.get('caller'));
    return c.json({ recorded: true as const }, 200);
  };

  /** Only the task's own agent splits its work: a person posts a goal instead. */
  const addSubtasks: AppRouteHandler<typeof routes.addSubtasks> = async (c) => {
    const id = c.req.valid('param').id;
    const caller = c.get('caller');
    if (caller.kind !== 'task') throw new ApiError(403, "subtasks are added by the task's own agent, with its task token");
    const { tasks, children_mode } = c.req.valid('json');
    const added = await addTasksUnder(db, { taskId: id, sessionId: caller.sessionId }, tasks, children_mode, {
      maxTasks: config.goals.maxTasksPerGoal,
      maxDepth: config.goals.maxTreeDepth,
    });
    if (added.outcome === 'not_running') throw new ApiError(409, 'the task has no running session of its current attempt to add subtasks for');
    if (added.outcome === 'invalid') {
      const first = added.errors[0]!;
      throw new ApiError(422, first.task ? `task "${first.task}": ${first.message}` : first.message, added.errors);
    }
    return c.json({ tasks: added.tasks.map(toTaskJson) }, 201);
  };

  /** The task after a person's decision, or the error the decision met. */
  const decided = async (id: string, command: (id: string) => Promise<TaskCommandResult>) => {
    if (!isUuid(id)) throw notFound('task');
    const result = await command(id);
    if (result.outcome === 'not_found') throw notFound('task');
    if (result.outcome === 'conflict') throw new ApiError(409, result.reason);
    return toTaskJson((await findTask(db, id))!);
  };

  const signal: AppRouteHandler<typeof routes.signalTask> = async (c) => {
    const verdict = c.req.valid('json');
    return c.json({ task: await decided(c.req.valid('param').id, (id) => signalGate(db, id, verdict)) }, 200);
  };

  const approve: AppRouteHandler<typeof routes.approveTask> = async (c) => {
    // The body is optional: a bare POST approves.
    const comment = (c.req.valid('json') as { comment?: string } | undefined)?.comment ?? null;
    return c.json({ task: await decided(c.req.valid('param').id, (id) => approveTask(db, id, comment)) }, 200);
  };

  const reject: AppRouteHandler<typeof routes.rejectTask> = async (c) => {
    const { feedback } = c.req.valid('json');
    return c.json({ task: await decided(c.req.valid('param').id, (id) => rejectTask(db, id, feedback)) }, 200);
  };

  return { get, retry: retryTask, complete, block, addSubtasks, signal, approve, reject };
}
