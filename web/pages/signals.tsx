import { api } from '../api.js';
import { ErrorNotice, Loading } from '../components/notice.js';
import { StatusBadge } from '../components/status.js';
import { age } from '../format.js';
import { useLiveChanges } from '../live.js';
import { Link } from '../router.js';
import type { Signal } from '../types.js';
import { useResource } from '../use-resource.js';
import { useTitle } from '../title.js';

/** Signals as they came in (CI, reviews, people), and the gates each one opened. */
export function SignalsPage() {
  useTitle('Signals');
  const signals = useResource((signal) => api<{ signals: Signal[] }>('/api/signals?limit=100', { signal }), []);
  useLiveChanges(null, signals.reload, 400);
  return (
    <>
      <h1>Signals</h1>
      <ErrorNotice error={signals.error} />
      {!signals.data && !signals.error && <Loading what="signals" />}
      {signals.data?.signals.length === 0 && <p class="empty">No signals received yet.</p>}
      {signals.data && signals.data.signals.length > 0 && (
        <ul class="cards" aria-label="signals">
          {signals.data.signals.map((s) => (
            <li key={s.id} class="card">
              <div class="card-title">
                <StatusBadge status={s.status} />
                <strong>{s.type}</strong>
                <span class="muted">
                  from {s.source}, <time dateTime={s.received_at}>{age(s.received_at)}</time>
                </span>
              </div>
              {Object.keys(s.attributes).length > 0 && (
                <p class="meta">
                  {Object.entries(s.attributes).map(([k, v]) => (
                    <code key={k}>
                      {k}={String(v)}
                    </code>
                  ))}
                </p>
              )}
              {s.summary && <p>{s.summary}</p>}
              <p class="meta">
                {s.matched && s.matched.length > 0
                  ? s.matched.map((m) => (
                      <span key={m.task_id}>
                        opened <Link href={`/tasks/${m.task_id}`}>{m.task_key}</Link> of <Link href={`/goals/${m.goal_id}`}>{m.goal_title}</Link>
                      </span>
                    ))
                  : s.matched_task_ids.length > 0
                    ? s.matched_task_ids.map((id) => (
                        <span key={id}>
                          opened <Link href={`/tasks/${id}`}>task {id.slice(0, 8)}</Link>
                        </span>
                      ))
                    : <span>opened no gate</span>}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
