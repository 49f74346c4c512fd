import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ProgressBar, StatusBadge } from '../components/status.js';
import { ErrorNotice, Loading } from '../components/notice.js';
import { age, cost } from '../format.js';
import { useLiveChanges } from '../live.js';
import { Link, navigate } from '../router.js';
import { GOAL_STATUSES, type Goal } from '../types.js';
import { useResource } from '../use-resource.js';
import { useTitle } from '../title.js';

const PAGE = 50;

/** Every goal, newest first, with how far along it is; filtered by status; redrawn as events arrive. */
export function GoalsPage({ status }: { status: string | null }) {
  useTitle('Goals');
  const filter = status && (GOAL_STATUSES as readonly string[]).includes(status) ? status : null;
  // Live reloads redraw as many goals as are shown; "Show more" asks for the next page on top.
  const [pages, setPages] = useState(1);
  useEffect(() => setPages(1), [filter]);
  const goals = useResource(
    async (signal) => {
      let all: Goal[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < pages; page++) {
        const query = `limit=${PAGE}${filter ? `&status=${filter}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
        const answer: { goals: Goal[]; next_cursor: string | null } = await api(`/api/goals?${query}`, { signal });
        all = [...all, ...answer.goals];
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
      return { goals: all, more: cursor !== null };
    },
    [filter, pages],
  );
  useLiveChanges(null, goals.reload, 400);

  return (
    <>
      <div class="page-head">
        <h1>Goals</h1>
        <Link class="button primary" href="/new">
          New goal
        </Link>
      </div>
      <label class="inline-field">
        Status
        <select value={filter ?? ''} onChange={(e) => navigate((e.target as HTMLSelectElement).value ? `/?status=${(e.target as HTMLSelectElement).value}` : '/')}>
          <option value="">all</option>
          {GOAL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <ErrorNotice error={goals.error} />
      {!goals.data && !goals.error && <Loading what="goals" />}
      {goals.data && goals.data.goals.length === 0 && (
        <p class="empty">
          {filter ? `No ${filter} goals.` : 'No goals yet.'} <Link href="/new">Create one</Link> by pasting its YAML or JSON.
        </p>
      )}
      {goals.data && goals.data.goals.length > 0 && (
        <ul class="cards" aria-label="goals">
          {goals.data.goals.map((goal) => (
            <li key={goal.id} class="card goal-card">
              <div class="card-title">
                <StatusBadge status={goal.status} />
                <Link href={`/goals/${goal.id}`}>{goal.title}</Link>
              </div>
              <ProgressBar progress={goal.progress} />
              <p class="meta">
                <span>{cost(goal.cost_usd)}</span>
                <span>
                  created <time dateTime={goal.created_at}>{age(goal.created_at)}</time>
                </span>
                {goal.finished_at && (
                  <span>
                    ended <time dateTime={goal.finished_at}>{age(goal.finished_at)}</time>
                  </span>
                )}
              </p>
            </li>
          ))}
        </ul>
      )}
      {goals.data?.more && (
        <button type="button" class="button" onClick={() => setPages((n) => n + 1)}>
          Show more goals
        </button>
      )}
    </>
  );
}
