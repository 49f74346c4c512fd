import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { LogLine, Run } from '../types.js';
import { ErrorNotice } from './notice.js';

const PAGE = 200;
/** Past any seq: asks for the newest page. */
const END = 2 ** 53 - 1;

interface LogPage {
  lines: LogLine[];
  /** Where the page before this one ends; null at the start of the log. */
  next_before?: number | null;
}

/** Whether lines of this run lie before the page: the session's log may hold earlier runs too. */
function hasEarlier(page: LogPage, from: number | null): boolean {
  const first = page.lines[0]?.seq;
  if (first === undefined || (from !== null && first <= from)) return false;
  return page.next_before !== undefined ? page.next_before !== null : page.lines.length === PAGE;
}

/**
 * One run's log: its last page first, earlier pages on request (before_seq),
 * and, while the run is live, new lines as the session writes them (SSE).
 * Scrolls along with new lines while the reader is at the bottom.
 */
export function LogView({ run, onEnded }: { run: Run; onEnded?: () => void }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [earlier, setEarlier] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [following, setFollowing] = useState(false);
  const box = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  const running = run.ended_at === null;
  const from = run.log_from_seq;
  // Pages stop at the run's first line: a session's log may hold earlier runs.
  const since = from !== null ? `&after=${from - 1}` : '';
  const inRun = (line: LogLine) => (from === null || line.seq >= from) && (run.log_to_seq === null || line.seq <= run.log_to_seq);

  useEffect(() => {
    let source: EventSource | null = null;
    let closed = false;
    setLines([]);
    setLoaded(false);
    setError(null);
    const before = run.log_to_seq === null ? END : run.log_to_seq + 1;
    api<LogPage>(`/api/sessions/${run.session_id}/logs?before_seq=${before}${since}&limit=${PAGE}`)
      .then((page) => {
        if (closed) return;
        const mine = page.lines.filter(inRun);
        setLines(mine);
        setEarlier(hasEarlier(page, from));
        setLoaded(true);
        if (!running) return;
        const after = mine.at(-1)?.seq ?? (from !== null ? from - 1 : -1);
        source = new EventSource(`/api/sessions/${run.session_id}/logs?after=${after}`);
        setFollowing(true);
        source.addEventListener('line', (event) => {
          const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
          setLines((current) => (current.length > 0 && current[current.length - 1]!.seq >= line.seq ? current : [...current, line]));
        });
        source.addEventListener('end', () => {
          source?.close();
          setFollowing(false);
          onEnded?.();
        });
      })
      .catch((err: unknown) => !closed && setError(err));
    return () => {
      closed = true;
      source?.close();
      setFollowing(false);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run.id, run.session_id, running]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const loadEarlier = async () => {
    const first = lines[0]?.seq;
    if (first === undefined) return;
    try {
      const page = await api<LogPage>(`/api/sessions/${run.session_id}/logs?before_seq=${first}${since}&limit=${PAGE}`);
      const mine = page.lines.filter(inRun);
      atBottom.current = false;
      setLines((current) => [...mine, ...current]);
      setEarlier(hasEarlier(page, from));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="log">
      <div class="log-head">
        {earlier && (
          <button type="button" class="button small" onClick={loadEarlier}>
            Load earlier lines
          </button>
        )}
        <span class="muted" role="status">
          {following ? 'following live' : loaded ? `${lines.length} ${lines.length === 1 ? 'line' : 'lines'}` : 'loading…'}
        </span>
      </div>
      <ErrorNotice error={error} />
      {/* A region, not a log: its name counts only with a role (a bare pre may not be named), and role="log" would read out every tick. */}
      <pre
        class="log-lines"
        ref={box}
        tabIndex={0}
        role="region"
        aria-label="session log"
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lines.map((line) => (
          <span key={line.seq} class={`log-line ${line.stream}`} data-seq={line.seq}>
            {line.text}
            {'\n'}
          </span>
        ))}
        {loaded && lines.length === 0 && <span class="muted">{running ? 'Nothing yet; new lines appear here.' : 'This run wrote nothing.'}</span>}
      </pre>
    </div>
  );
}
