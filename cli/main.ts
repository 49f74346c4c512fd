import { ArborApiError, ArborUnreachableError, createArborClient } from '../client/arbor-client.js';
import { DEFAULT_PORT } from '../server/config.js';
import { UsageError, helpText, parseCommandLine, type CommandLine } from './command-line.js';
import type { CliContext } from './context.js';
import { InputError, createGoal, goalCommand, listGoals, showGoal } from './goal-commands.js';
import { showLogs } from './logs-command.js';
import { postSignal } from './signal-command.js';
import { startServer } from './start-command.js';
import { approveTask, rejectTask, retryTask } from './task-commands.js';
import { watchGoal } from './watch-command.js';

/**
 * The `arbor` command (bin/arbor.js runs this file through tsx). The one place
 * of the CLI that reads the environment: ARBOR_URL and ARBOR_API_TOKEN.
 * Exit codes: 0 ok, 1 the API said no (its message on stderr) or the server
 * could not be reached or the input did not parse, 2 the command line is wrong.
 */

type Handler = (ctx: CliContext) => Promise<number | void | 'running'>;

const HANDLERS: Record<string, Handler> = {
  start: startServer,
  'goal create': createGoal,
  goals: listGoals,
  'goal show': showGoal,
  watch: watchGoal,
  logs: showLogs,
  approve: approveTask,
  reject: rejectTask,
  retry: retryTask,
  pause: goalCommand('pause'),
  resume: goalCommand('resume'),
  cancel: goalCommand('cancel'),
  signal: postSignal,
};

const DEFAULT_URL = `http://127.0.0.1:${DEFAULT_PORT}`;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number | 'running'> {
  let line: CommandLine;
  try {
    line = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`arbor: ${err.message}\n${err.message.includes('usage:') ? '' : 'arbor --help lists the commands\n'}`);
    return 2;
  }
  if (line.kind === 'help') {
    process.stdout.write(helpText(DEFAULT_URL, line.command));
    return 0;
  }
  if (line.kind === 'version') {
    process.stdout.write('arbor 0.1.0\n');
    return 0;
  }
  const ctx: CliContext = {
    client: createArborClient({ baseUrl: env.ARBOR_URL || DEFAULT_URL, token: env.ARBOR_API_TOKEN || undefined }),
    out: {
      write: (text) => void process.stdout.write(text),
      isTTY: process.stdout.isTTY === true,
      // A terminal of unknown size (0 columns, as some pseudo-terminals report) is not cut at all.
      columns: process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined,
    },
    err: (text) => void process.stderr.write(`${text}\n`),
    stdin: process.stdin,
    cwd: process.cwd(),
    now: () => new Date(),
    args: line.args,
    values: line.values,
  };
  try {
    return (await HANDLERS[line.command.name]!(ctx)) ?? 0;
  } catch (err) {
    process.stderr.write(describeFailure(err));
    return err instanceof UsageError ? 2 : 1;
  }
}

/** What went wrong, for a person: the API's message and details, or why nothing answered. */
export function describeFailure(err: unknown): string {
  if (err instanceof ArborApiError) {
    // Each detail on a line of its own, unless the message already says it (a single problem often is the message).
    const details = Array.isArray(err.details)
      ? err.details
          .map((d: { path?: unknown; message?: unknown }) => `${d.path ? `${String(d.path)}: ` : ''}${String(d.message ?? JSON.stringify(d))}`)
          .filter((line) => !err.message.includes(line))
          .map((line) => `  ${line}\n`)
          .join('')
      : '';
    return `arbor: ${err.message} (HTTP ${err.status})\n${details}`;
  }
  if (err instanceof ArborUnreachableError || err instanceof InputError || err instanceof UsageError) return `arbor: ${err.message}\n`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return `arbor: ${(err as Error).message}\n`;
  return `arbor: unexpected error: ${(err as Error).stack ?? String(err)}\n`;
}

const result = await main(process.argv.slice(2), process.env);
// `start` keeps running (the server owns the process and its exit code from here on).
if (result !== 'running') process.exitCode = result;
