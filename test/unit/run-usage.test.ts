import { describe, expect, it } from 'vitest';
import { NO_TOTALS, runUsage, type ReportedUsage } from '../../server/domain/run-usage.js';

const claude = (costUsd: number | null, inputTokens: number | null, outputTokens: number | null): ReportedUsage => ({
  costUsd, inputTokens, outputTokens, cumulative: { costUsd: true, tokens: false },
});
const codex = (inputTokens: number | null, outputTokens: number | null): ReportedUsage => ({
  costUsd: null, inputTokens, outputTokens, cumulative: { costUsd: false, tokens: true },
});

describe('runUsage', () => {
  it('claude: the cost after a resume is the conversation total, its tokens are the run', () => {
    const first = runUsage(claude(0.00599, 1000, 50), NO_TOTALS);
    expect(first.run).toEqual({ costUsd: 0.00599, inputTokens: 1000, outputTokens: 50 });
    expect(first.totals).toEqual({ costUsd: 0.00599, inputTokens: null, outputTokens: null });
    const second = runUsage(claude(0.01198, 1100, 60), first.totals);
    expect(second.run).toEqual({ costUsd: 0.00599, inputTokens: 1100, outputTokens: 60 });
    const third = runUsage(claude(0.01797, 1200, 70), second.totals);
    expect(third.run.costUsd).toBe(0.00599);
    // The three runs add up to the last total, not to 0.01+0.01+0.02 of summed totals.
    expect(first.run.costUsd + second.run.costUsd + third.run.costUsd).toBeCloseTo(0.01797, 9);
  });

  it('codex: the tokens after exec resume are the thread total', () => {
    const first = runUsage(codex(4200, 90), NO_TOTALS);
    const second = runUsage(codex(8400, 180), first.totals);
    expect(second.run).toEqual({ costUsd: 0, inputTokens: 4200, outputTokens: 90 });
    expect(second.totals).toEqual({ costUsd: null, inputTokens: 8400, outputTokens: 180 });
  });

  it('a run that reported nothing costs nothing and leaves the totals where they were', () => {
    const last = { costUsd: 0.5, inputTokens: 10, outputTokens: 5 };
    expect(runUsage(codex(null, null), last)).toEqual({ run: { costUsd: 0, inputTokens: 0, outputTokens: 0 }, totals: last });
  });

  it('a total below the last one charges nothing and keeps the last total', () => {
    const last = { costUsd: 0.5, inputTokens: null, outputTokens: null };
    const failed = runUsage(claude(0, 10, 1), last);
    expect(failed.run).toEqual({ costUsd: 0, inputTokens: 10, outputTokens: 1 });
    expect(failed.totals).toEqual(last);
    expect(runUsage(claude(0.6, 10, 1), failed.totals).run.costUsd).toBeCloseTo(0.1, 9);
  });
});
