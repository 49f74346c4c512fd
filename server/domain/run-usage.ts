/**
 * What one agent run cost. Agents that continue a conversation report some
 * figures as the conversation's running total (claude's cost after
 * --resume, codex's tokens after exec resume): summing those per run would
 * count every earlier run again. The run's share is the difference from the
 * last total seen for that conversation. Pure.
 */

export interface UsageFigures {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

/** The last running totals an agent reported for a conversation; null where none was. */
export interface ConversationTotals {
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

export const NO_TOTALS: ConversationTotals = { costUsd: null, inputTokens: null, outputTokens: null };

export interface ReportedUsage {
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Which figures are running totals of the conversation. */
  cumulative: { costUsd: boolean; tokens: boolean };
}

/** Cost is summed over many runs: keep it to a precision that float noise cannot reach. */
const COST_DECIMALS = 1e9;

/** `last`: the totals of the conversation this run continued; NO_TOTALS for a new one. */
export function runUsage(reported: ReportedUsage, last: ConversationTotals): { run: UsageFigures; totals: ConversationTotals } {
  const cost = share(reported.costUsd, last.costUsd, reported.cumulative.costUsd);
  const input = share(reported.inputTokens, last.inputTokens, reported.cumulative.tokens);
  const output = share(reported.outputTokens, last.outputTokens, reported.cumulative.tokens);
  return {
    run: { costUsd: Math.round(cost.run * COST_DECIMALS) / COST_DECIMALS, inputTokens: input.run, outputTokens: output.run },
    totals: { costUsd: cost.total, inputTokens: input.total, outputTokens: output.total },
  };
}

function share(reported: number | null, last: number | null, cumulative: boolean): { run: number; total: number | null } {
  if (!cumulative) return { run: reported ?? 0, total: last };
  // A run that reported nothing (it died first) leaves the total where it was.
  if (reported === null) return { run: 0, total: last };
  if (last === null) return { run: reported, total: reported };
  // Below the last total (a run that failed before its figures were in): nothing to charge, and
  // the last total stands, so the next run is not charged again for what was counted before.
  if (reported < last) return { run: 0, total: last };
  return { run: reported - last, total: reported };
}
