import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ok, type Goal } from '../client/arbor-client.js';
import { UsageError } from './command-line.js';
import { printJson, printLines, stringValue, wantsJson, type CliContext } from './context.js';
import { renderGoalHeader, renderGoalTree } from './goal-tree.js';
import { formatAge, formatCost, renderTable } from './table.js';

/** `arbor goal create`, `goals`, `goal show`, `pause`, `resume`, `cancel`. */

const GOAL_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;

/** A goal file, YAML or JSON (JSON is YAML), or stdin for `-`. A file that does not parse is the caller's input error. */
export async function readGoalFile(ctx: CliContext, file: string): Promise<unknown> {
  const text = file === '-' ? await readStream(ctx.stdin) : await readFile(path.resolve(ctx.cwd, file), 'utf8');
  try {
    return parseYaml(text);
  } catch (err) {
    throw new InputError(`${file === '-' ? 'stdin' : file} is neither YAML nor JSON: ${(err as Error).message}`);
  }
}

/** Bad input the command was given (a file that does not parse): exit 1, like the API's own refusal. */
export class InputError extends Error {
  override name = 'InputError';
}

export async function createGoal(ctx: CliContext): Promise<void> {
  const body = await readGoalFile(ctx, stringValue(ctx, 'file')!);
  // The API checks the shape and says what is wrong; the client only passes it on.
  const created = await ok(ctx.client.api.POST('/api/goals', { body: body as never }));
  if (wantsJson(ctx)) return printJson(ctx, created);
  printLines(ctx, [`created goal ${created.goal.id}`, renderGoalHeader(created.goal, created.tasks, { colour: ctx.out.isTTY }), ...treeOf(ctx, created.goal, created.tasks)]);
}

export async function listGoals(ctx: CliContext): Promise<void> {
  const status = stringValue(ctx, 'status');
  if (status !== undefined && !(GOAL_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${GOAL_STATUSES.join(', ')}`);
  }
  const limit = stringValue(ctx, 'limit');
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) throw new UsageError('--limit must be a positive whole number');
  const page = await ok(
    ctx.client.api.GET('/api/goals', {
      params: { query: { status: status as Goal['status'] | undefined, limit: limit === undefined ? undefined : Number(limit) } },
    }),
  );
  if (wantsJson(ctx)) return printJson(ctx, page);
  if (page.goals.length === 0) return printLines(ctx, [status ? `no ${status} goals` : 'no goals yet']);
  const now = ctx.now();
  printLines(
    ctx,
    renderTable(
      ['ID', 'STATUS', 'AGE', 'COST', 'TITLE'],
      page.goals.map((g) => [g.id, g.status, formatAge(g.created_at, now), formatCost(g.cost_usd), g.title]),
    ),
  );
  if (page.next_cursor) ctx.err(`(more goals: --limit ${page.goals.length * 2} shows more)`);
}

export async function showGoal(ctx: CliContext): Promise<void> {
  const found = await ok(ctx.client.api.GET('/api/goals/{id}', { params: { path: { id: ctx.args.goal! } } }));
  if (wantsJson(ctx)) return printJson(ctx, found);
  printLines(ctx, [renderGoalHeader(found.goal, found.tasks, { colour: ctx.out.isTTY }), ...treeOf(ctx, found.goal, found.tasks)]);
}

export function goalCommand(command: 'pause' | 'resume' | 'cancel') {
  return async (ctx: CliContext): Promise<void> => {
    const answer = await ok(ctx.client.api.POST(`/api/goals/{id}/${command}`, { params: { path: { id: ctx.args.goal! } } }));
    if (wantsJson(ctx)) return printJson(ctx, answer);
    printLines(ctx, [`goal ${answer.goal.id} is ${answer.goal.status}`]);
  };
}

function treeOf(ctx: CliContext, goal: Goal, tasks: Parameters<typeof renderGoalTree>[0]): string[] {
  return renderGoalTree(tasks, { colour: ctx.out.isTTY, goalMode: goal.children_mode });
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
