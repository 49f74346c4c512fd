/**
 * How a run's end becomes its task's outcome. Pure: everything it weighs is
 * passed in. The agent's own word (its report through Arbor, or its CLI's
 * final verdict) is believed first, the exit code is the fallback; a failure
 * says why in words a person can act on.
 */
import type { TaskOutcome, TaskResult } from '../domain/task-rules.js';
import type { ParsedRun } from './agents/types.js';
import type { AgentReport } from '../store/sessions.js';

/** How the agent's process ended (the fields of agent-process's ProcessEnd this rule reads). */
export interface RunEnd {
  reason: 'exited' | 'killed' | 'timed_out' | 'stalled' | 'stopped' | 'failed_to_start';
  exitCode: number | null;
  signal: string | null;
  /** Why it did not start. */
  error: string | null;
}

export interface OutcomeInput {
  end: RunEnd;
  parsed: ParsedRun;
  /** What the agent reported through Arbor's API or MCP tools, if anything. */
  reported: AgentReport | null;
  /** A person asked for the stop (not a shutdown). */
  stoppedOnRequest: boolean;
  /** The limits in force, in seconds: for the message when one is hit. */
  limits: { timeoutS: number; stallS: number };
  /** What a denied tool does to a run that would otherwise succeed. */
  onPermissionDenial: 'fail' | 'note';
  /** The run's result so far (branch facts are added later); its summary is the agent's final word. */
  result: TaskResult;
}

export function decideOutcome(input: OutcomeInput): TaskOutcome {
  const { end, parsed, reported, result } = input;
  const denials = parsed.permissionDenials;
  const withDenials: TaskResult = denials.length > 0 ? { ...result, permission_denials: denials } : result;
  // A failed run's summary would be a progress line: the error says what happened.
  const failed = (why: string): TaskOutcome => {
    const { summary: _dropped, ...rest } = withDenials;
    const kept = reported?.kind === 'complete' && reported.summary ? withDenials : rest;
    return { kind: 'failed', error: why, result: kept };
  };
  const because = (why: string) => failed(withReason(why, parsed));

  switch (end.reason) {
    case 'failed_to_start':
      return failed(end.error ?? 'the agent did not start');
    case 'timed_out':
      return because(`timed out after ${durationLabel(input.limits.timeoutS)}`);
    case 'stalled':
      return because(`stalled: no output for ${input.limits.stallS} s`);
    case 'stopped':
      return input.stoppedOnRequest
        ? { kind: 'blocked', reason: 'the session was stopped on request', result: withDenials }
        : because('the session was stopped');
    case 'killed':
      return because(`the agent was killed by ${end.signal} (out of memory?)`);
    case 'exited':
      break;
  }
  if (reported?.kind === 'block') return { kind: 'blocked', reason: reported.reason, result: withDenials };
  const succeeded =
    reported?.kind === 'complete' ||
    (parsed.finished && parsed.success === true) ||
    (end.exitCode === 0 && parsed.success !== false);
  if (succeeded) {
    if (denials.length > 0 && input.onPermissionDenial === 'fail') {
      return failed(`the agent was denied ${denials.length === 1 ? 'a tool' : `${denials.length} tools`}: ${denialList(denials)}`);
    }
    return { kind: 'succeeded', result: withDenials };
  }
  const why = end.exitCode !== null ? `the agent exited with code ${end.exitCode}` : `the agent ended by ${end.signal}`;
  return because(why);
}

/** The limit or exit, then the agent's own error text, or else what it last wrote on stderr. */
function withReason(why: string, parsed: ParsedRun): string {
  if (parsed.error) return `${why}: ${parsed.error}`;
  if (parsed.stderrTail) return `${why}; its stderr ended with:\n${parsed.stderrTail}`;
  return why;
}

function denialList(denials: ParsedRun['permissionDenials']): string {
  const tools = [...new Set(denials.map((d) => d.tool))];
  return tools.join(', ');
}

/** 1800 -> "30 min", 90 -> "90 s". */
export function durationLabel(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** How the process ended, for the session's end_reason. */
export function describeEnd(end: RunEnd): string {
  switch (end.reason) {
    case 'exited':
      return end.exitCode === 0 ? 'exited 0' : end.exitCode !== null ? `exited ${end.exitCode}` : `ended by ${end.signal}`;
    case 'killed':
      return `killed by ${end.signal}`;
    case 'failed_to_start':
      return `failed to start: ${end.error}`;
    default:
      return end.reason.replace('_', ' ');
  }
}
