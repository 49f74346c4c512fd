import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { DiffView } from '../components/diff-view.js';
import { LogView } from '../components/log-view.js';
import { ErrorNotice, Loading } from '../components/notice.js';
import { StatusBadge } from '../components/status.js';
import { age, cost, duration, tokens, when } from '../format.js';
import { useLiveChanges } from '../live.js';
import { Link } from '../router.js';
import { actionsFor, describeGate } from '../task-tree.js';
import type { GoalWithTasks, Run, Task, TaskDiff } from '../types.js';
import { useResource } from '../use-resource.js';
import { useTitle } from '../title.js';

/** One task: what a person can do now first (approve from a phone), then its runs, log, diff and result. */
export function TaskPage({ id }: { id: string }) {
  const task = useResource((signal) => api<Task>(`/api/tasks/${encodeURIComponent(id)}`, { signal }), [id]);
  const goalId = task.data?.goal_id;
  const goal = useResource(
    (signal) => (goalId ? api<GoalWithTasks>(`/api/goals/${goalId}`, { signal }) : Promise.resolve(null)),
    [goalId],
  );
  const runs = useResource(async (signal) => (await api<{ runs: Run[] }>(`/api/tasks/${encodeURIComponent(id)}/runs`, { signal })).runs, [id]);
  // The diff changes only when the task moves (a run ends, a rework starts): not on every event of the goal.
  const diff = useResource((signal) => api<TaskDiff>(`/api/tasks/${encodeURIComponent(id)}/diff`, { signal }), [id, task.data?.status, task.data?.attempt], {
    keepWhileReloading: true,
  });
  const reloadAll = () => {
    task.reload();
    goal.reload();
    runs.reload();
  };
  useLiveChanges(goalId ?? undefined, reloadAll);
  useTitle(task.data ? `${task.data.key}: ${task.data.title}` : null);
  const [picked, setPicked] = useState<string | null>(null);
  useEffect(() => setPicked(null), [id]);

  if (task.error && !task.data) return <ErrorNotice error={task.error} />;
  if (!task.data) return <Loading what="the task" />;
  const t = task.data;
  const g = goal.data?.goal;
  const keyOf = (taskId: string) => goal.data?.tasks.find((x) => x.id === taskId)?.key ?? taskId.slice(0, 8);
  const runList = runs.data ?? [];
  const run = runList.find((r) => r.id === picked) ?? runList[runList.length - 1] ?? null;

  return (
    <>
      <nav class="crumbs" aria-label="breadcrumb">
        <Link href="/">Goals</Link> › {g ? <Link href={`/goals/${g.id}`}>{g.title}</Link> : <span>goal</span>}
      </nav>
      <div class="page-head">
        <h1>
          <span class="key">{t.key}</span> {t.title}
        </h1>
        <StatusBadge status={t.status} />
      </div>
      <TaskActions task={t} onDone={reloadAll} />
      {t.error && (
        <div class="notice error">
          <p>{t.error}</p>
        </div>
      )}
      <dl class="facts">
        <dt>Kind</dt>
        <dd>
          {t.kind}
          {t.kind === 'agent' && <> · {t.route} session</>}
          {t.kind === 'group' && <> · children {t.children_mode === 'sequential' ? 'in sequence' : 'in parallel'}</>}
        </dd>
        {t.kind === 'agent' && (
          <>
            <dt>Attempt</dt>
            <dd>
              {t.attempt} of {t.max_attempts}
              {t.not_before && t.status === 'pending' && <> · next not before {when(t.not_before)}</>}
            </dd>
          </>
        )}
        {t.depends_on.length > 0 && (
          <>
            <dt>Waits for</dt>
            <dd>
              {t.depends_on.map((d, i) => (
                <span key={d}>
                  {i > 0 && ', '}
                  <Link href={`/tasks/${d}`}>{keyOf(d)}</Link>
                </span>
              ))}
            </dd>
          </>
        )}
        {t.kind === 'wait_for_signal' && (
          <>
            <dt>Gate</dt>
            <dd>{describeGate(t.gate)}</dd>
            <dt>Bound to</dt>
            <dd>{t.gate_bound ? describeGate(t.gate_bound) : 'not yet (binds when the gate opens)'}</dd>
          </>
        )}
        <dt>Cost</dt>
        <dd>
          {cost(t.cost_usd)} · {tokens(t.input_tokens, t.output_tokens)}
        </dd>
        <dt>Started</dt>
        <dd>
          {t.started_at ? <time dateTime={t.started_at}>{age(t.started_at)}</time> : 'not yet'}
          {t.started_at && <> · {t.finished_at ? `took ${duration(t.started_at, t.finished_at)}` : `${t.status} for ${duration(t.started_at, null)}`}</>}
        </dd>
      </dl>
      {t.instructions && (
        <details class="block">
          <summary>Instructions</summary>
          <pre class="text">{t.instructions}</pre>
          {t.acceptance && <pre class="text">Acceptance: {t.acceptance}</pre>}
        </details>
      )}
      <ResultView result={t.result} />

      {t.kind === 'agent' && (
        <section aria-labelledby="runs-heading">
          <h2 id="runs-heading">Runs</h2>
          <ErrorNotice error={runs.error} />
          {runs.data && runList.length === 0 && <p class="muted">No run yet.</p>}
          {runList.length > 0 && (
            <ol class="runs">
              {runList.map((r) => (
                <li key={r.id}>
                  <button type="button" class={`run-button${run?.id === r.id ? ' current' : ''}`} aria-pressed={run?.id === r.id} onClick={() => setPicked(r.id)}>
                    Attempt {r.attempt} · {r.outcome ?? 'running'} · {age(r.started_at)}
                    {r.ended_at && <> · {duration(r.started_at, r.ended_at)}</>}
                  </button>
                  {r.error && <p class="node-error">{r.error}</p>}
                </li>
              ))}
            </ol>
          )}
          {run && (
            <>
              <h3>Log of attempt {run.attempt}</h3>
              <LogView key={run.id} run={run} onEnded={runs.reload} />
              {run.prompt && (
                <details class="block">
                  <summary>The prompt it got</summary>
                  <pre class="text">{run.prompt}</pre>
                </details>
              )}
            </>
          )}
        </section>
      )}

      {t.kind === 'agent' && (
        <section aria-labelledby="diff-heading">
          <h2 id="diff-heading">Diff</h2>
          <ErrorNotice error={diff.error} />
          {diff.data ? <DiffView diff={diff.data} /> : !diff.error && <Loading what="the diff" />}
        </section>
      )}
    </>
  );
}

function ResultView({ result }: { result: unknown }) {
  if (result === null || result === undefined) return null;
  const summary = typeof result === 'object' && typeof (result as { summary?: unknown }).summary === 'string' ? (result as { summary: string }).summary : null;
  return (
    <section aria-labelledby="result-heading">
      <h2 id="result-heading">Result</h2>
      {summary && <p class="summary">{summary}</p>}
      <details class="block">
        <summary>Everything it reported</summary>
        <pre class="text">{JSON.stringify(result, null, 2)}</pre>
      </details>
    </section>
  );
}

/** What a person can do to this task now. Approve and reject come first and are large: the phone path. */
function TaskActions({ task, onDone }: { task: Task; onDone: () => void }) {
  const actions = actionsFor(task);
  const [feedback, setFeedback] = useState('');
  const [comment, setComment] = useState('');
  const [summary, setSummary] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');

  const send = async (path: string, body: unknown, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/tasks/${task.id}/${path}`, { method: 'POST', body });
      setNotice(done);
      setFeedback('');
      setComment('');
      setSummary('');
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!actions.retry && !actions.review && !actions.resolveGate) {
    return notice ? (
      <p class="notice ok" role="status">
        {notice}
      </p>
    ) : null;
  }
  return (
    <section class="panel" aria-labelledby="act-heading">
      <h2 id="act-heading">{actions.review ? 'Review' : actions.resolveGate ? 'Resolve the gate' : 'Retry'}</h2>
      {actions.review && (
        <>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              void send('approve', comment.trim() ? { comment: comment.trim() } : {}, 'Approved: the tree goes on.');
            }}
          >
            <label for="approve-comment">Comment (optional)</label>
            <input id="approve-comment" type="text" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
            <button type="submit" class="button primary big" disabled={busy}>
              Approve
            </button>
          </form>
          <form
            class="stack"
            onSubmit={(e) => {
              e.preventDefault();
              void send('reject', { feedback: feedback.trim() }, 'Rejected: the work goes back with your feedback.');
            }}
          >
            <label for="reject-feedback">Feedback for the rework</label>
            <textarea id="reject-feedback" rows={3} required value={feedback} onInput={(e) => setFeedback((e.target as HTMLTextAreaElement).value)} />
            <button type="submit" class="button danger big" disabled={busy || feedback.trim() === ''}>
              Reject with feedback
            </button>
          </form>
        </>
      )}
      {actions.resolveGate && (
        <form class="stack" onSubmit={(e) => e.preventDefault()}>
          <p class="muted">Waits for {describeGate(task.gate_bound ?? task.gate)}. Decide it here instead of a signal.</p>
          <label for="gate-summary">Summary (optional)</label>
          <input id="gate-summary" type="text" value={summary} onInput={(e) => setSummary((e.target as HTMLInputElement).value)} />
          <div class="row">
            <button type="button" class="button primary big" disabled={busy} onClick={() => send('signal', { status: 'pass', ...(summary.trim() ? { summary: summary.trim() } : {}) }, 'Passed.')}>
              Pass
            </button>
            <button type="button" class="button danger big" disabled={busy} onClick={() => send('signal', { status: 'fail', ...(summary.trim() ? { summary: summary.trim() } : {}) }, 'Failed: the work before it goes back for rework.')}>
              Fail
            </button>
          </div>
        </form>
      )}
      {actions.retry && (
        <button type="button" class="button primary big" disabled={busy} onClick={() => send('retry', {}, 'Sent back to pending.')}>
          Retry
        </button>
      )}
      <p class="sr-only" role="status">
        {notice}
      </p>
      <ErrorNotice error={error} />
    </section>
  );
}
