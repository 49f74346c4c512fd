/**
 * The CI verdict for one commit, from what GitHub lists for it: its check
 * runs (one per job of every app and workflow) and its commit statuses (the
 * older API some CI still uses). Pure.
 *
 * GitHub sends one check suite per app or workflow, so no single one of them
 * is the verdict: the commit passes when every check has completed
 * successfully, fails as soon as one has failed, and is pending otherwise —
 * also while nothing has reported at all. A gate that names `checks` is
 * decided by those alone (as branch protection's required checks are), and
 * stays pending until each of them has reported.
 */

export interface CheckRun {
  name: string;
  /** queued, in_progress, completed (and GitHub's waiting/requested/pending). */
  status: string;
  conclusion: string | null;
  /** The run's output title, where the failure is usually said in one line. */
  title: string | null;
  url?: string | null;
}

export interface CommitStatus {
  context: string;
  /** success, failure, error, pending. */
  state: string;
  description: string | null;
  url?: string | null;
}

export interface CheckOutcome {
  name: string;
  state: 'pass' | 'fail' | 'pending';
  /** What GitHub said: the conclusion, or the status while it runs. */
  detail: string;
  title: string | null;
  url: string | null;
}

export interface CiVerdict {
  state: 'pass' | 'fail' | 'pending';
  summary: string;
  checks: CheckOutcome[];
}

const PASSING = new Set(['success', 'neutral', 'skipped']);

export function ciVerdict(sha: string, runs: readonly CheckRun[], statuses: readonly CommitStatus[], required: readonly string[] = []): CiVerdict {
  const all: CheckOutcome[] = [
    ...runs.map((r): CheckOutcome => {
      const detail = r.status === 'completed' ? (r.conclusion ?? 'completed') : r.status;
      const state = r.status !== 'completed' ? 'pending' : PASSING.has(r.conclusion ?? '') ? 'pass' : 'fail';
      return { name: r.name, state, detail, title: r.title || null, url: r.url ?? null };
    }),
    ...statuses.map((s): CheckOutcome => {
      const state = s.state === 'success' ? 'pass' : s.state === 'pending' ? 'pending' : 'fail';
      return { name: s.context, state, detail: s.state, title: s.description || null, url: s.url ?? null };
    }),
  ];
  const short = sha.slice(0, 7);
  const wanted = new Set(required);
  const considered = wanted.size > 0 ? all.filter((c) => wanted.has(c.name)) : all;
  const failing = considered.filter((c) => c.state === 'fail');
  if (failing.length > 0) {
    return { state: 'fail', summary: `CI failed on ${short}: ${failing.map(describe).join('; ')}`, checks: all };
  }
  const missing = [...wanted].filter((name) => !considered.some((c) => c.name === name));
  const pending = considered.filter((c) => c.state === 'pending');
  if (considered.length === 0 || missing.length > 0 || pending.length > 0) {
    const waiting = [...pending.map(describe), ...missing.map((name) => `${name} (not reported yet)`)];
    return { state: 'pending', summary: `CI still running on ${short}: ${waiting.join('; ') || 'no check has reported yet'}`, checks: all };
  }
  return { state: 'pass', summary: `CI passed on ${short}: ${considered.map((c) => c.name).join(', ')}`, checks: all };
}

function describe(check: CheckOutcome): string {
  return `${check.name} (${check.detail}${check.title ? `: ${check.title}` : ''})`;
}
