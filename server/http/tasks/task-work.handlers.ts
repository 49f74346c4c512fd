import { listTaskRuns } from '../../store/task-runs.js';
import { getTask } from '../../store/tasks.js';
import { isUuid } from '../common.schemas.js';
import type { AppDeps, AppRouteHandler } from '../context.js';
import { notFound } from '../errors.js';
import type * as routes from './task-work.routes.js';
import { toTaskRunJson } from './task-work.schemas.js';

export function taskWorkHandlers({ db, taskDiffs }: AppDeps) {
  const runs: AppRouteHandler<typeof routes.listTaskRuns> = async (c) => {
    const { id } = c.req.valid('param');
    if (!isUuid(id) || !(await getTask(db, id))) throw notFound('task');
    return c.json({ runs: (await listTaskRuns(db, id)).map(toTaskRunJson) }, 200);
  };

  const diff: AppRouteHandler<typeof routes.getTaskDiff> = async (c) => {
    const { id } = c.req.valid('param');
    if (!isUuid(id)) throw notFound('task');
    if (!taskDiffs) {
      if (!(await getTask(db, id))) throw notFound('task');
      return c.json(
        { branch: null, base_sha: null, head_sha: null, files: [], patch: '', truncated: false, note: 'this server reads no repositories (it runs no sessions)' },
        200,
      );
    }
    const found = await taskDiffs(id);
    if (!found) throw notFound('task');
    return c.json(found, 200);
  };

  return { runs, diff };
}
