import { ok, type Task } from '../client/arbor-client.js';
import { UsageError } from './command-line.js';
import { printJson, printLines, stringValue, wantsJson, type CliContext } from './context.js';

/** `arbor approve`, `reject`, `retry`: a person decides about one task. */

export async function approveTask(ctx: CliContext): Promise<void> {
  const comment = stringValue(ctx, 'comment');
  const answer = await ok(
    ctx.client.api.POST('/api/tasks/{id}/approve', { params: { path: { id: ctx.args.task! } }, body: comment ? { comment } : {} }),
  );
  report(ctx, answer);
}

export async function rejectTask(ctx: CliContext): Promise<void> {
  const feedback = stringValue(ctx, 'feedback')!;
  if (feedback.trim() === '') throw new UsageError('--feedback must say what to change');
  const answer = await ok(ctx.client.api.POST('/api/tasks/{id}/reject', { params: { path: { id: ctx.args.task! } }, body: { feedback } }));
  report(ctx, answer);
}

export async function retryTask(ctx: CliContext): Promise<void> {
  const answer = await ok(ctx.client.api.POST('/api/tasks/{id}/retry', { params: { path: { id: ctx.args.task! } } }));
  report(ctx, answer);
}

function report(ctx: CliContext, answer: { task: Task }): void {
  if (wantsJson(ctx)) return printJson(ctx, answer);
  printLines(ctx, [`task ${answer.task.key} (${answer.task.id}) is ${answer.task.status}`]);
}
