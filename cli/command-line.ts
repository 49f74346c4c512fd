import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The command line: which command, its arguments and options, checked
 * against the command's spec before anything is sent. Pure. A mistake here is
 * a usage error (exit 2), told with the command's usage line.
 */

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** One or two words: `goals`, `goal create`. */
  name: string;
  /** Positional arguments, each required. */
  args: string[];
  options: Options;
  /** Options that must be given. */
  required?: string[];
  summary: string;
}

const json = { json: { type: 'boolean' } } as const;

export const COMMANDS: CommandSpec[] = [
  { name: 'start', args: [], options: {}, summary: 'run the server here (like npm start)' },
  { name: 'goal create', args: [], options: { file: { type: 'string', short: 'f' }, ...json }, required: ['file'], summary: 'create a goal from a YAML or JSON file (-f - reads stdin)' },
  { name: 'goals', args: [], options: { status: { type: 'string' }, limit: { type: 'string' }, ...json }, summary: 'list goals, newest first' },
  { name: 'goal show', args: ['goal'], options: { ...json }, summary: "a goal and its task tree" },
  { name: 'watch', args: ['goal'], options: {}, summary: "follow a goal's tree live until the goal ends" },
  { name: 'logs', args: ['task-or-session'], options: { follow: { type: 'boolean', short: 'f' }, ...json }, summary: "a task's or session's log (-f follows it)" },
  { name: 'approve', args: ['task'], options: { comment: { type: 'string' }, ...json }, summary: 'approve a task in review' },
  { name: 'reject', args: ['task'], options: { feedback: { type: 'string' }, ...json }, required: ['feedback'], summary: 'reject a task in review; its work runs again with the feedback' },
  { name: 'retry', args: ['task'], options: { ...json }, summary: 'run a failed or blocked task again' },
  { name: 'pause', args: ['goal'], options: { ...json }, summary: 'dispatch nothing new; running tasks finish' },
  { name: 'resume', args: ['goal'], options: { ...json }, summary: 'dispatch again after a pause' },
  { name: 'cancel', args: ['goal'], options: { ...json }, summary: 'cancel every unfinished task of a goal' },
  {
    name: 'signal',
    args: [],
    options: {
      type: { type: 'string' },
      status: { type: 'string' },
      'pr-url': { type: 'string' },
      repo: { type: 'string' },
      pr: { type: 'string' },
      sha: { type: 'string' },
      summary: { type: 'string' },
      attr: { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
      task: { type: 'string' },
      ...json,
    },
    required: ['status'],
    summary: 'post a signal (CI, a review bot, a person) to the gates it matches; --task decides one gate',
  },
];

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export type CommandLine =
  | { kind: 'help'; command?: CommandSpec }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandSpec; args: Record<string, string>; values: Values };

export function parseCommandLine(argv: string[]): CommandLine {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? findCommand(argv.slice(1)) : undefined;
    return { kind: 'help', ...(topic ? { command: topic.command } : {}) };
  }
  if (first === '--version') return { kind: 'version' };
  const found = findCommand(argv);
  if (!found) {
    const what = first === 'goal' ? `goal ${second ?? ''}`.trim() : first;
    throw new UsageError(`unknown command: ${what}`);
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help', command };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\nusage: ${usageLine(command)}`);
  }
  if (parsed.positionals.length !== command.args.length) {
    const problem = parsed.positionals.length < command.args.length ? `missing <${command.args[parsed.positionals.length]}>` : `unexpected argument: ${parsed.positionals[command.args.length]}`;
    throw new UsageError(`${problem}\nusage: ${usageLine(command)}`);
  }
  for (const name of command.required ?? []) {
    if (parsed.values[name] === undefined) throw new UsageError(`--${name} is required\nusage: ${usageLine(command)}`);
  }
  const args = Object.fromEntries(command.args.map((name, i) => [name, parsed.positionals[i]!]));
  return { kind: 'run', command, args, values: parsed.values as Values };
}

function findCommand(argv: string[]): { command: CommandSpec; rest: string[] } | undefined {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === argv[0]);
  return one ? { command: one, rest: argv.slice(1) } : undefined;
}

export function usageLine(command: CommandSpec): string {
  const options = Object.entries(command.options).map(([name, option]) => {
    const flag = `--${name}${option.type === 'string' ? ` <${name === 'file' ? 'file' : 'value'}>` : ''}`;
    const shown = option.short ? `-${option.short}|${flag}` : flag;
    return command.required?.includes(name) ? shown : `[${shown}]`;
  });
  return ['arbor', command.name, ...command.args.map((a) => `<${a}>`), ...options].join(' ');
}

export function helpText(defaultUrl: string, command?: CommandSpec): string {
  if (command) return `${usageLine(command)}\n\n${command.summary}\n`;
  const width = Math.max(...COMMANDS.map((c) => c.name.length + c.args.map((a) => ` <${a}>`).join('').length));
  const lines = COMMANDS.map((c) => `  ${(c.name + c.args.map((a) => ` <${a}>`).join('')).padEnd(width)}  ${c.summary}`);
  return [
    'arbor: run and steer Arbor goals from the terminal',
    '',
    'usage: arbor <command> [arguments] [--json]',
    '',
    ...lines,
    '',
    `ARBOR_URL is the server (default ${defaultUrl}), ARBOR_API_TOKEN its token.`,
    '--json prints what the API answered, for scripts. arbor help <command> shows its options.',
    'Exit codes: 0 ok, 1 the API (or the server\'s absence) said no, 2 the command line is wrong.',
    '',
  ].join('\n');
}
