import { TASK_STATUSES, type TaskKind, type TaskStatus } from './states.js';

/** How far a goal has come: its tasks by state. Groups are left out: a group's state only sums its children's. */
export interface GoalProgress {
  total: number;
  /** Every status, zero included, so a client need not know the list to draw a bar. */
  by_status: Record<TaskStatus, number>;
}

export function emptyProgress(): GoalProgress {
  return { total: 0, by_status: Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number> };
}

/** From counts per (kind, status), as a GROUP BY gives them, or from the tasks themselves (count 1 each). */
export function progressOf(rows: Iterable<{ kind: TaskKind; status: TaskStatus; count?: number }>): GoalProgress {
  const progress = emptyProgress();
  for (const row of rows) {
    if (row.kind === 'group') continue;
    const n = row.count ?? 1;
    progress.total += n;
    progress.by_status[row.status] += n;
  }
  return progress;
}
