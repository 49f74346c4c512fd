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
  /** How the agent talks back to Arbor: the tools of Arbor's MCP server (claude, codex), or REST calls with its token (command). */
  talkBack: 'mcp' | 'rest';
  /** A spawned task's branch already holds an earlier attempt's work, and these paths conflict with the goal's newer work. */
  continuing?: { conflicts: string[] };
}

const MAX_SUMMARY_CHARS = 4000;

/** Arbor's MCP server `arbor` and its tools, as the agent CLIs are given them. */
const MCP_TALK_BACK = [
  'Report to Arbor through the tools of its MCP server `arbor`:',
  '- `arbor_complete {summary, artifacts?}` when you are done: a short summary of what you did;',
  '- `arbor_block {reason}` if you cannot go on without a person;',
  '- `arbor_add_subtasks {tasks}` to split the work into tasks Arbor runs after this one;',
  '- `arbor_report_pull_request {url, head_sha?}` when you open a pull request;',
  '- `arbor_task_context {}` for your task, its goal and what earlier tasks reported.',
];

/** An agent without MCP reports through the REST API with its task token. */
const REST_TALK_BACK = [
  'When you are done, reply with a short summary of what you did. If you cannot go on without a person, report it:',
  'curl -fsS -X POST "$ARBOR_API_URL/api/tasks/$ARBOR_TASK_ID/block" -H "Authorization: Bearer $ARBOR_TASK_TOKEN" -H "Content-Type: application/json" -d \'{"reason":"..."}\'',
];

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
      ...(input.talkBack === 'mcp' ? MCP_TALK_BACK : REST_TALK_BACK),
    ].join('\n'),
  );
  return `${sections.join('\n\n')}\n`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n…[truncated]`;
}
