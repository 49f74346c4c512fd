/**
 * Any program as an agent: the configured argv (ARBOR_AGENT_COMMAND) with the prompt on
 * stdin. Its output is logged as it is; its exit code alone decides success. The last
 * lines it printed on stdout become the summary of a run that succeeds.
 */
import { OutputTail } from './output-tail.js';
import type { AgentAdapter, AgentLaunch, AgentOutputParser, AgentRunInput, AgentSettings, LogStream, ParsedRun } from './types.js';
import { MAX_LOG_LINE_CHARS, MAX_SUMMARY_CHARS, stripCr, truncate } from './util.js';

/** How many trailing non-empty stdout lines make the command agent's summary. */
const SUMMARY_TAIL_LINES = 20;

export class CommandAdapter implements AgentAdapter {
  readonly name = 'command' as const;
  readonly resumable = false;
  readonly usesMcp = false;

  constructor(private readonly settings: AgentSettings['command']) {}

  launch(input: AgentRunInput): AgentLaunch {
    const [file, ...args] = this.settings.argv;
    if (file === undefined || file === '') {
      throw new Error('ARBOR_AGENT_COMMAND is not set: the command agent needs a program to run (e.g. "node agent.mjs")');
    }
    return { file, args, stdin: input.prompt };
  }

  parser(): AgentOutputParser {
    return new CommandOutputParser();
  }
}

export class CommandOutputParser implements AgentOutputParser {
  private readonly tail: string[] = [];
  private readonly stderr = new OutputTail();

  line(stream: 'stdout' | 'stderr', raw: string): { text: string; stream: LogStream } {
    const text = truncate(stripCr(raw), MAX_LOG_LINE_CHARS);
    if (stream === 'stderr') this.stderr.push(raw);
    if (stream === 'stdout' && text.trim() !== '') {
      this.tail.push(text);
      if (this.tail.length > SUMMARY_TAIL_LINES) this.tail.shift();
    }
    return { text, stream };
  }

  report(): ParsedRun {
    const summary = this.tail.join('\n');
    return {
      conversationId: null,
      summary: summary === '' ? null : truncate(summary, MAX_SUMMARY_CHARS),
      costUsd: null,
      inputTokens: null,
      outputTokens: null,
      cumulative: { costUsd: false, tokens: false },
      permissionDenials: [],
      stderrTail: this.stderr.text(),
      success: null,
      error: null,
      finished: false,
    };
  }
}
