/**
 * The text an agent is given for one task: the task itself, its place in the
 * goal, what the work it builds on reported, and — when this is another try —
 * why the last one failed. Plain text with headings: every agent CLI reads it.
 */

export interface PromptInput {
  goal: { title: string; description: string; branch: string | null };
  task: { key: string; title: string; instructions: string; acceptance: string | null };
  parent: { title: string; instructions: string } | null;
  /** Tasks this one depends on, with what they reported. */
  dependencies: { key: string; title: string; summary: string | null }[];
  /** Why the previous attempt ended, for a re-run; null on a first run. */
  previousFailure: string | null;
  /** Whether the agent works in its own branch (spawned) or the goal's shared worktree (pinned). */
  route: 'pinned' | 'spawned';
  /** A spawned task's branch already holds an earlier attempt's work, and these paths conflict with the goal's newer work. */
  continuing?: { conflicts: string[] };
}

const MAX_SUMMARY_CHARS = 4000;

export function buildPrompt(input: PromptInput): string {
  const sections: string[] = [];
  sections.push(`# Task: ${input.task.title}`);
  if (input.task.instructions.trim()) sections.push(input.task.instructions.trim());
  if (input.task.acceptance?.trim()) sections.push(`## Done when\n${input.task.acceptance.trim()}`);

  const goal = [`## The goal this task belongs to\n${input.goal.title}`];
  if (input.goal.description.trim()) goal.push(input.goal.description.trim());
  sections.push(goal.join('\n\n'));
  if (input.parent) {
    const parent = [`## Part of: ${input.parent.title}`];
    if (input.parent.instructions.trim()) parent.push(input.parent.instructions.trim());
    sections.push(parent.join('\n\n'));
  }

  const reported = input.dependencies.filter((d) => d.summary?.trim());
  if (reported.length > 0) {
    sections.push(
      `## What earlier tasks reported\n${reported
        .map((d) => `### ${d.title} (${d.key})\n${clip(d.summary!.trim(), MAX_SUMMARY_CHARS)}`)
        .join('\n\n')}`,
    );
  }
  if (input.previousFailure?.trim()) {
    sections.push(
      `## This is another attempt\nThe previous attempt at this task did not succeed:\n\n${clip(input.previousFailure.trim(), MAX_SUMMARY_CHARS)}\n\nAddress this before anything else.`,
    );
  }
  if (input.continuing) {
    const lines = ['## Where you start', 'Your branch already holds what an earlier attempt at this task committed: carry on from it rather than starting over.'];
    if (input.continuing.conflicts.length > 0) {
      lines.push(
        `The goal branch moved on meanwhile and merging it into your branch conflicts in: ${input.continuing.conflicts.join(', ')}. Resolve those conflicts first and commit the merge.`,
      );
    }
    sections.push(lines.join('\n'));
  }
  sections.push(
    [
      '## How to work',
      input.route === 'spawned'
        ? `You work in a git worktree on a branch of your own, branched from the goal branch${input.goal.branch ? ` ${input.goal.branch}` : ''}; it is merged back when you finish.`
        : `You work in the goal's shared worktree on the goal branch${input.goal.branch ? ` ${input.goal.branch}` : ''}, after the tasks before you.`,
      'Commit your work with clear messages; anything left uncommitted is committed for you when you finish.',
      'When you are done, reply with a short summary of what you did. If you cannot go on without a person, report it:',
      'curl -fsS -X POST "$ARBOR_API_URL/api/tasks/$ARBOR_TASK_ID/block" -H "Authorization: Bearer $ARBOR_TASK_TOKEN" -H "Content-Type: application/json" -d \'{"reason":"..."}\'',
    ].join('\n'),
  );
  return `${sections.join('\n\n')}\n`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n…[truncated]`;
}
