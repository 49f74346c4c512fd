import { useEffect, useRef } from 'preact/hooks';
// Every event type the API streams, each a named SSE event: the server's own list, so none is missed.
import { EVENT_TYPES } from '../server/domain/event-types.js';

/**
 * Follows /api/events (optionally one goal's) and calls `onChange` after
 * events arrive, at most every `settleMs`: a burst of changes becomes one
 * reload of what the page shows. Also called when the stream (re)connects,
 * since events may have been missed while it was down.
 */
export function useLiveChanges(goalId: string | null | undefined, onChange: () => void, settleMs = 150): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (goalId === undefined) return;
    const url = goalId ? `/api/events?goal_id=${encodeURIComponent(goalId)}` : '/api/events';
    const source = new EventSource(url, { withCredentials: true });
    let timer: number | undefined;
    const changed = () => {
      if (timer !== undefined) return;
      timer = window.setTimeout(() => {
        timer = undefined;
        latest.current();
      }, settleMs);
    };
    let opened = false;
    source.addEventListener('open', () => {
      // The first open follows the page's own load; a reopen may have missed events.
      if (opened) changed();
      opened = true;
    });
    source.addEventListener('message', changed);
    for (const type of EVENT_TYPES) source.addEventListener(type, changed);
    return () => {
      source.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [goalId, settleMs]);
}
