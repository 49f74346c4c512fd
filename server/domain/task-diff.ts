import type { TaskRoute } from './states.js';

/**
 * A task's work as a diff: which commits to compare (a rule over what the
 * database recorded), and git's -z output read into files.
 */

export const DIFF_FILE_STATUSES = ['added', 'modified', 'deleted', 'renamed'] as const;
export type DiffFileStatus = (typeof DIFF_FILE_STATUSES)[number];

export interface DiffFile {
  path: string;
  /** For a rename, the path it had before. */
  old_path: string | null;
  status: DiffFileStatus;
  additions: number;
  deletions: number;
  binary: boolean;
}

export interface TaskDiff {
  branch: string | null;
  base_sha: string | null;
  head_sha: string | null;
  files: DiffFile[];
  patch: string;
  truncated: boolean;
  /** Why there is no diff to show when there is a branch (its commits are not in this server's copy of the repository...); else null. */
  note: string | null;
}

/** A task's diff, or null when there is no such task (rendered by the session runner, which knows where repositories are). */
export type TaskDiffReader = (taskId: string) => Promise<TaskDiff | null>;

/** What the database knows of a task's work. */
export interface DiffFacts {
  route: TaskRoute;
  running: boolean;
  /** tasks.result: for a finished run, its branch, base and head (see spawned-run.ts and pinned-lane.ts). */
  result: unknown;
  /** The commit each run's worktree stood at when it started, oldest run first. */
  runBases: (string | null)[];
  /** The task's sessions' branches and the commits they were made from, oldest first (for runs recorded before runs were). */
  sessions: { branch: string | null; baseSha: string | null }[];
  goalBranch: string | null;
}

/** The branch to show, the commit to compare from, and the head: a branch to read now, else the head a finished run recorded. */
export interface DiffRange {
  branch: string | null;
  base: string | null;
  /** Read the branch's tip as the head when it exists. */
  readBranch: boolean;
  recordedHead: string | null;
}

/**
 * Where a task's work starts and ends: from where its first run started, so
 * a rework's changes show together with the work they rework.
 *
 * A spawned task has a branch of its own: its tip, or once merged (and the
 * branch deleted) the head its run recorded. (Its first run started from the
 * goal branch; if the goal branch moved on before a rework, the rework starts
 * from there, and what other tasks merged meanwhile shows too.)
 *
 * A pinned task works on the goal branch itself, which later tasks move on:
 * to the head its run recorded, or, while it runs (or before anything was
 * recorded), the goal branch's tip.
 */
export function diffRange(facts: DiffFacts): DiffRange {
  const result = (typeof facts.result === 'object' && facts.result !== null ? facts.result : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  // Commits are handed to git: only what looks like a sha, never something git could take for an option.
  const sha = (value: unknown) => (typeof value === 'string' && /^[0-9a-f]{7,64}$/i.test(value) ? value : null);
  const recordedHead = sha(result.head);
  const base =
    facts.runBases.map(sha).find((b) => b !== null) ?? facts.sessions.map((s) => sha(s.baseSha)).find((b) => b !== null) ?? sha(result.base);
  const latest = facts.sessions.at(-1) ?? null;
  if (facts.route === 'spawned') {
    const branch = latest?.branch ?? text(result.branch);
    return { branch, base, readBranch: branch !== null, recordedHead };
  }
  const branch = text(result.branch) ?? (latest ? (latest.branch ?? facts.goalBranch) : null);
  const readBranch = branch !== null && (facts.running || recordedHead === null);
  return { branch, base, readBranch, recordedHead: facts.running ? null : recordedHead };
}

/** `git diff --name-status -z -M` and `git diff --numstat -z -M` of the same range, as files. */
export function parseDiffFiles(nameStatus: string, numstat: string): DiffFile[] {
  const counts = new Map<string, { additions: number; deletions: number; binary: boolean }>();
  const numbers = numstat.split('\0');
  for (let i = 0; i < numbers.length; i++) {
    const field = numbers[i]!;
    if (field === '') continue;
    const [added = '-', deleted = '-', path = ''] = field.split('\t');
    // A rename leaves the path empty and gives the old and the new path as the next two fields.
    const name = path !== '' ? path : numbers[(i += 2)] ?? '';
    const binary = added === '-' || deleted === '-';
    counts.set(name, { additions: binary ? 0 : Number(added), deletions: binary ? 0 : Number(deleted), binary });
  }
  const files: DiffFile[] = [];
  const fields = nameStatus.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const code = fields[i]!;
    if (code === '') continue;
    const letter = code[0];
    let oldPath: string | null = null;
    let path: string;
    if (letter === 'R' || letter === 'C') {
      oldPath = fields[++i] ?? '';
      path = fields[++i] ?? '';
    } else {
      path = fields[++i] ?? '';
    }
    const status: DiffFileStatus = letter === 'A' || letter === 'C' ? 'added' : letter === 'D' ? 'deleted' : letter === 'R' ? 'renamed' : 'modified';
    const count = counts.get(path) ?? { additions: 0, deletions: 0, binary: false };
    files.push({ path, old_path: letter === 'R' ? oldPath : null, status, ...count });
  }
  return files;
}

/** A patch cut at `maxBytes` ends at a whole line. */
export function cutPatch(patch: string, truncated: boolean): string {
  if (!truncated) return patch;
  const end = patch.lastIndexOf('\n');
  return end < 0 ? '' : patch.slice(0, end + 1);
}
