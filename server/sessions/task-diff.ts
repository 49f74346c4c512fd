import { existsSync } from 'node:fs';
import type { Db } from '../db/database.js';
import { cutPatch, diffRange, parseDiffFiles, type TaskDiff, type TaskDiffReader } from '../domain/task-diff.js';
import { getGoal } from '../store/goals.js';
import { listSessions } from '../store/sessions.js';
import { listTaskRuns } from '../store/task-runs.js';
import { getTask } from '../store/tasks.js';
import type { Git } from './git-command.js';
import { REMOTE } from './repo-mirror.js';

/** A patch larger than this is cut (at a line) and said to be truncated: a browser renders it, a person reads it. */
export const MAX_PATCH_BYTES = 1024 * 1024;

/**
 * Renders a task's work from git: what the database recorded picks the
 * commits (domain/task-diff.ts), git compares them in the goal's repository
 * on this machine — the path itself, or this instance's mirror of a remote.
 * Read-only: nothing is fetched, so a commit made on another machine and not
 * yet fetched here gives a note instead of a diff.
 *
 * `git` is the sessions' own (as the agents' user, when one is set), and
 * external diff drivers and textconv filters are off: a repository's config
 * is the agents' to write, and must not make a read run their programs.
 */
export function createTaskDiffReader(deps: { db: Db; git: Git; localPath: (repo: string) => string | null; maxPatchBytes?: number }): TaskDiffReader {
  const { db, git } = deps;
  const maxPatchBytes = deps.maxPatchBytes ?? MAX_PATCH_BYTES;
  return async (taskId) => {
    const task = await getTask(db, taskId);
    if (!task) return null;
    const goal = await getGoal(db, task.goalId);
    if (!goal) return null;
    const [runs, sessions] = await Promise.all([listTaskRuns(db, taskId), listSessions(db, { taskId, limit: 500 })]);
    const range = diffRange({
      route: task.route,
      running: task.status === 'running',
      result: task.result,
      runBases: runs.map((r) => r.baseSha),
      // Newest first from the store; oldest first here.
      sessions: sessions.map((s) => ({ branch: s.branch, baseSha: s.baseSha })).reverse(),
      goalBranch: goal.branch,
    });
    const empty: TaskDiff = { branch: range.branch, base_sha: range.base, head_sha: null, files: [], patch: '', truncated: false, note: null };
    if (range.branch === null && range.recordedHead === null) return empty;
    const repo = deps.localPath(goal.repo);
    if (repo === null || !existsSync(repo)) return { ...empty, note: 'this server has no copy of the repository' };

    let head: string | null = null;
    if (range.readBranch && range.branch !== null) {
      head = (await git.resolveCommit(repo, `refs/heads/${range.branch}`)) ?? (await git.resolveCommit(repo, `refs/remotes/${REMOTE}/${range.branch}`));
    }
    head ??= range.recordedHead === null ? null : await git.resolveCommit(repo, range.recordedHead);
    const base = range.base === null ? null : await git.resolveCommit(repo, range.base);
    if (head === null || base === null) {
      const missing = head === null ? `the head of ${range.branch ?? 'the task'}` : `the base commit ${range.base ?? ''}`.trim();
      return { ...empty, head_sha: head, note: range.base === null && head !== null ? 'where the task started is not recorded' : `${missing} is not in this server's copy of the repository` };
    }

    const options = ['--no-color', '--no-ext-diff', '--no-textconv', '-M'];
    const [nameStatus, numstat, patch] = await Promise.all([
      git.output(repo, ['diff', ...options, '--name-status', '-z', base, head]),
      git.output(repo, ['diff', ...options, '--numstat', '-z', base, head]),
      git.run(repo, ['diff', ...options, base, head], { maxStdoutBytes: maxPatchBytes }),
    ]);
    const truncated = patch.truncated === true;
    if (!truncated && patch.code !== 0) throw new Error(`git diff failed: ${patch.stderr.trim()}`);
    return { ...empty, base_sha: base, head_sha: head, files: parseDiffFiles(nameStatus, numstat), patch: cutPatch(patch.stdout, truncated), truncated };
  };
}
