import { ok, type Schemas } from '../client/arbor-client.js';
import { UsageError } from './command-line.js';
import { printJson, printLines, stringValue, wantsJson, type CliContext } from './context.js';

/**
 * `arbor signal`: post a signal to every gate it matches
 * (`--type gh_ci --pr-url … --status pass`), or with `--task` decide one
 * waiting gate directly.
 */

export async function postSignal(ctx: CliContext): Promise<void> {
  const status = stringValue(ctx, 'status');
  if (status !== 'pass' && status !== 'fail') throw new UsageError('--status must be pass or fail');
  const summary = stringValue(ctx, 'summary');
  const task = stringValue(ctx, 'task');
  if (task !== undefined) {
    const others = ['type', 'pr-url', 'repo', 'pr', 'sha', 'attr', 'idempotency-key'].filter((name) => ctx.values[name] !== undefined);
    if (others.length > 0) throw new UsageError(`--task decides that gate alone; leave out --${others.join(', --')}`);
    const answer = await ok(
      ctx.client.api.POST('/api/tasks/{id}/signal', { params: { path: { id: task } }, body: { status, ...(summary ? { summary } : {}) } }),
    );
    if (wantsJson(ctx)) return printJson(ctx, answer);
    return printLines(ctx, [`task ${answer.task.key} (${answer.task.id}) is ${answer.task.status}`]);
  }
  const body = signalBody(ctx.values, status, summary);
  const { data, error, response } = await ctx.client.api.POST('/api/signals/resolve', { body });
  if (response.status === 202) {
    // gh_ci checked against GitHub: nothing stored yet; the checks API decides once they finish.
    if (wantsJson(ctx)) return printJson(ctx, data);
    return printLines(ctx, [`not decided yet: ${(data as { pending: string }).pending}`]);
  }
  const result = (await ok(Promise.resolve({ data, error, response }))) as Schemas['ResolveResult'];
  if (wantsJson(ctx)) return printJson(ctx, result);
  const matched = result.matched.length === 1 ? '1 gate' : `${result.matched.length} gates`;
  printLines(ctx, [`signal ${result.signal_id}${result.duplicate ? ' (a duplicate: applied before)' : ''} matched ${matched}`, ...result.matched.map((id) => `  ${id}`)]);
}

/** The body of POST /api/signals/resolve from the options; pure. */
export function signalBody(values: Record<string, unknown>, status: 'pass' | 'fail', summary: string | undefined): Schemas['ResolveSignal'] {
  const type = values.type;
  if (typeof type !== 'string') throw new UsageError('--type is required (e.g. gh_ci), or --task to decide one gate');
  const body: Schemas['ResolveSignal'] = { type, status };
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (text('pr-url') !== undefined) body.pr_url = text('pr-url');
  if (text('repo') !== undefined) body.repo = text('repo');
  const pr = text('pr');
  if (pr !== undefined) {
    if (!/^[1-9]\d*$/.test(pr)) throw new UsageError('--pr must be a pull request number');
    body.pr = Number(pr);
  }
  if (text('sha') !== undefined) body.sha = text('sha');
  if (summary !== undefined) body.summary = summary;
  if (text('idempotency-key') !== undefined) body.idempotency_key = text('idempotency-key');
  for (const pair of (values.attr as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--attr takes name=value, not ${pair}`);
    body[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return body;
}
