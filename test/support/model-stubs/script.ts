/**
 * What a model API stub answers, scripted per test. Each request to the
 * model is one step of a conversation: `prompt` is the user's latest plain
 * message (Arbor's task prompt), `step` counts the assistant turns already
 * taken since it (0 for the first request of a run), so a retried request
 * gets the same answer and a resumed conversation starts again at step 0.
 */

export type Turn =
  /** Reply with text and end the turn. */
  | { kind: 'text'; text: string }
  /** Call a tool (Bash, Write, mcp__arbor__arbor_block, shell, ...), optionally after some text. */
  | { kind: 'tool'; name: string; input: Record<string, unknown>; text?: string }
  /** Answer with this HTTP status and the API's error body. */
  | { kind: 'error'; status: number }
  /** Start the stream, then never finish it. */
  | { kind: 'hang' };

export interface TurnContext {
  prompt: string;
  step: number;
  /** Text of the tool results the request carries after the last assistant turn. */
  toolResults: string[];
  /** Names of the tools the request offers the model. */
  tools: string[];
  /** Whether this is the agent's main loop (it offers tools) rather than a side request such as a title. */
  main: boolean;
}

export type Script = (turn: TurnContext) => Turn;

/** Tokens the stub reports for every answer it serves. */
export const SERVED_USAGE = { inputTokens: 1200, outputTokens: 60 } as const;

export interface ServedTurn {
  model: string;
  inputTokens: number;
  outputTokens: number;
  main: boolean;
}

/** Plays `turns` in order for every prompt, then ends with `done`. */
export function inOrder(turns: Turn[], done = 'Done.'): Script {
  return ({ step }) => turns[step] ?? { kind: 'text', text: done };
}

/**
 * Picks the script by a marker in the task's title, falling back to `otherwise`. Arbor's prompt
 * heads with `# Task: <title>` and goes on to name the parent and earlier tasks, so only that
 * line is searched (a subtask must not get its parent's script).
 */
export function byTaskTitle(scripts: Record<string, Script>, otherwise: Script = inOrder([])): Script {
  return (turn) => {
    const title = taskTitle(turn.prompt);
    for (const [needle, script] of Object.entries(scripts)) if (title.includes(needle)) return script(turn);
    return otherwise(turn);
  };
}

/** The title from the `# Task: <title>` line of Arbor's prompt (the whole prompt when it has none). */
export function taskTitle(prompt: string): string {
  return /^# Task: (.*)$/m.exec(prompt)?.[1] ?? prompt;
}
