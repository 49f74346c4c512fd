import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNotice, Loading } from '../components/notice.js';
import { ProgressBar, StatusBadge } from '../components/status.js';
import { TaskTreeView } from '../components/task-tree-view.js';
import { age, cost, duration, tokens } from '../format.js';
import { useLiveChanges } from '../live.js';
import { Link } from '../router.js';
import { buildTaskTree } from '../task-tree.js';
import type { GoalWithTasks } from '../types.js';
import { useResource } from '../use-resource.js';
import { useTitle } from '../title.js';

/** One goal: its tree, live over SSE, and what a person can do to it. */
export function GoalPage({ id }: { id: string }) {
  const goal = useResource((signal) => api<GoalWithTasks>(`/api/goals/${encodeURIComponent(id)}`, { signal }), [id]);
  useLiveChanges(id, goal.reload);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  useTitle(goal.data?.goal.title);

  const act = async (key: string, path: string, done: string) => {
    setBusy(key);
    setActionError(null);
    try {
      await api(path, { method: 'POST', body: {} });
      setNotice(done);
      goal.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  };

  if (goal.error && !goal.data) return <ErrorNotice error={goal.error} />;
  if (!goal.data) return <Loading what="the goal" />;
  const { goal: g, tasks } = goal.data;
  const tree = buildTaskTree(tasks);

  return (
    <>
      <nav class="crumbs" aria-label="breadcrumb">
        <Link href="/">Goals</Link>
      </nav>
      <div class="page-head">
        <h1>{g.title}</h1>
        <StatusBadge status={g.status} />
      </div>
      {g.description && <p class="description">{g.description}</p>}
      <ProgressBar progress={g.progress} />
      <dl class="facts">
        <dt>Repository</dt>
        <dd>
          <code>{g.repo}</code> at <code>{g.base_ref}</code>
        </dd>
        {g.branch && (
          <>
            <dt>Branch</dt>
            <dd>
              <code>{g.branch}</code>
            </dd>
          </>
        )}
        <dt>Agent</dt>
        <dd>
          {g.agent}, up to {g.max_parallel} at once
        </dd>
        <dt>Cost</dt>
        <dd>
          {cost(g.cost_usd)} · {tokens(g.input_tokens, g.output_tokens)}
        </dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={g.created_at}>{age(g.created_at)}</time>
          {g.started_at && <> · ran {duration(g.started_at, g.finished_at)}</>}
        </dd>
      </dl>
      <div class="actions" role="group" aria-label="goal actions">
        {(g.status === 'pending' || g.status === 'running') && (
          <button type="button" class="button" disabled={busy !== null} onClick={() => act('pause', `/api/goals/${g.id}/pause`, 'Paused: nothing new starts; running tasks finish.')}>
            Pause
          </button>
        )}
        {g.status === 'paused' && (
          <button type="button" class="button" disabled={busy !== null} onClick={() => act('resume', `/api/goals/${g.id}/resume`, 'Resumed.')}>
            Resume
          </button>
        )}
        {(g.status === 'pending' || g.status === 'running' || g.status === 'paused') && (
          <button
            type="button"
            class="button danger"
            disabled={busy !== null}
            onClick={() => {
              if (confirm(`Cancel “${g.title}”? Running sessions are stopped.`)) void act('cancel', `/api/goals/${g.id}/cancel`, 'Cancelled.');
            }}
          >
            Cancel goal
          </button>
        )}
      </div>
      <p class="sr-only" role="status">
        {notice}
      </p>
      <ErrorNotice error={actionError} />
      <section aria-labelledby="tree-heading">
        <h2 id="tree-heading">Tasks</h2>
        <p class="muted">{g.children_mode === 'sequential' ? 'Top-level tasks run in sequence.' : 'Top-level tasks run in parallel.'}</p>
        <TaskTreeView
          nodes={tree}
          mode={g.children_mode}
          label="task tree"
          busy={busy}
          onRetry={(taskId) => act(taskId, `/api/tasks/${taskId}/retry`, 'Sent back to pending.')}
        />
      </section>
    </>
  );
}
