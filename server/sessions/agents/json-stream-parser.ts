/**
 * What the claude and codex parsers share: both print one JSON event per
 * line on stdout and free text on stderr. An event updates the run's figures
 * (through the subclass's `handle`) and is logged as the readable text it
 * returns; stderr is logged as it is and its tail kept for failures.
 */
import { OutputTail } from './output-tail.js';
import type { AgentOutputParser, LogStream, ParsedRun, PermissionDenial } from './types.js';
import { MAX_SUMMARY_CHARS, renderJsonLine, truncate, type JsonObject } from './util.js';

export abstract class JsonStreamParser implements AgentOutputParser {
  protected conversationId: string | null = null;
  /** The agent's final message; set only by what ends a run well. */
  protected summary: string | null = null;
  protected costUsd: number | null = null;
  protected inputTokens: number | null = null;
  protected outputTokens: number | null = null;
  protected success: boolean | null = null;
  protected error: string | null = null;
  protected finished = false;
  protected permissionDenials: PermissionDenial[] = [];
  private readonly stderr = new OutputTail();

  constructor(private readonly cumulative: ParsedRun['cumulative']) {}

  line(stream: 'stdout' | 'stderr', raw: string): { text: string; stream: LogStream } {
    if (stream === 'stderr') this.stderr.push(raw);
    return renderJsonLine(stream, raw, (event) => this.handle(event));
  }

  report(): ParsedRun {
    return {
      conversationId: this.conversationId,
      summary: this.summary === null ? null : truncate(this.summary, MAX_SUMMARY_CHARS),
      costUsd: this.costUsd,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cumulative: this.cumulative,
      permissionDenials: this.permissionDenials,
      stderrTail: this.stderr.text(),
      success: this.success,
      error: this.error,
      finished: this.finished,
    };
  }

  /** Updates the run from one event and returns its log text (null: log the raw line). */
  protected abstract handle(event: JsonObject): string | null;
}
