import type { Progress, TaskStatus } from '../types.js';

/** A status as a word on a tinted badge; the word carries the meaning, the colour only helps. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

/** The order progress segments are drawn in: done first, then what moves, then what waits. */
const SEGMENTS: TaskStatus[] = ['succeeded', 'skipped', 'running', 'review', 'waiting', 'blocked', 'failed', 'cancelled', 'pending'];

export function progressSummary(progress: Progress): string {
  const parts = SEGMENTS.filter((s) => (progress.by_status[s] ?? 0) > 0).map((s) => `${progress.by_status[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'no tasks';
}

export function ProgressBar({ progress }: { progress: Progress }) {
  const done = (progress.by_status.succeeded ?? 0) + (progress.by_status.skipped ?? 0);
  const summary = progressSummary(progress);
  return (
    <div class="progress">
      <div class="progress-bar" role="img" aria-label={`${done} of ${progress.total} tasks done: ${summary}`}>
        {SEGMENTS.map((status) => {
          const n = progress.by_status[status] ?? 0;
          return n > 0 && progress.total > 0 ? (
            <span key={status} class={`segment status-${status}`} style={{ width: `${(n / progress.total) * 100}%` }} />
          ) : null;
        })}
      </div>
      <span class="progress-text">
        {done}/{progress.total} done
      </span>
    </div>
  );
}
