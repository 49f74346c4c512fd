import { normalizeAttributes, parsePullRequestUrl, type GateAttributes, type GateCondition } from './gate.js';

/**
 * Binding a gate when it opens: the attributes it takes `{from}` an earlier
 * task become the pull request (and head sha) that task reported. Pure; the
 * store reads the reports and writes the bound gate.
 */

export interface ReportedPullRequest {
  repo: string;
  pr: number;
  /** The head commit the task left the pull request at, when it said. */
  sha?: string;
}

/**
 * The pull request a task's result names, wherever a run puts it:
 * `result.pull_request` (reported through the MCP tool, or opened by Arbor),
 * `result.artifacts.pull_request` (an object or a URL), `result.artifacts.pr_url`.
 */
export function pullRequestInResult(result: unknown): ReportedPullRequest | null {
  if (!isRecord(result)) return null;
  const artifacts = isRecord(result.artifacts) ? result.artifacts : {};
  for (const candidate of [result.pull_request, artifacts.pull_request, artifacts.pr_url]) {
    const found = pullRequestOf(candidate);
    if (found) return found;
  }
  return null;
}

function pullRequestOf(value: unknown): ReportedPullRequest | null {
  if (typeof value === 'string') {
    const parsed = parsePullRequestUrl(value);
    return parsed ? { repo: parsed.repo, pr: parsed.pr } : null;
  }
  if (!isRecord(value)) return null;
  const attributes: GateAttributes = {};
  if (typeof value.url === 'string') attributes.pr_url = value.url;
  if (typeof value.repo === 'string') attributes.repo = value.repo;
  const number = value.number ?? value.pr;
  if (typeof number === 'number' || typeof number === 'string') attributes.pr = number;
  const sha = value.head_sha ?? value.sha;
  if (typeof sha === 'string') attributes.sha = sha;
  const normalized = normalizeAttributes(attributes);
  if (typeof normalized === 'string' || normalized.repo === undefined || normalized.pr === undefined) return null;
  return {
    repo: String(normalized.repo),
    pr: Number(normalized.pr),
    ...(normalized.sha !== undefined ? { sha: String(normalized.sha) } : {}),
  };
}

export type BindResult = { ok: true; condition: GateCondition } | { ok: false; error: string };

/**
 * The condition with every `{from}` replaced by what its source reported
 * (`reports` by task key; null: the task reported no pull request). A bound
 * `gh_ci` condition also carries the head sha when the source gave one, so
 * that only CI of the current head can pass it.
 */
export function bindGate(condition: GateCondition, reports: ReadonlyMap<string, ReportedPullRequest | null>): BindResult {
  if ('all' in condition || 'any' in condition) {
    const parts: GateCondition[] = [];
    for (const part of 'all' in condition ? condition.all : condition.any) {
      const bound = bindGate(part, reports);
      if (!bound.ok) return bound;
      parts.push(bound.condition);
    }
    return { ok: true, condition: 'all' in condition ? { all: parts } : { any: parts } };
  }
  const { bind } = condition;
  if (!bind) return { ok: true, condition };
  const report = reports.get(bind.from);
  if (!report) return { ok: false, error: `the gate takes its pull request from task "${bind.from}", which reported no pull request` };
  const attributes: GateAttributes = { ...condition.attributes };
  if (bind.pr) {
    attributes.repo = report.repo;
    attributes.pr = report.pr;
  }
  const wantsSha = bind.sha || (bind.pr && condition.type === 'gh_ci');
  if (wantsSha && report.sha) attributes.sha = report.sha;
  else if (bind.sha) {
    return { ok: false, error: `the gate takes its head sha from task "${bind.from}", whose pull request report named no head sha` };
  }
  return { ok: true, condition: { type: condition.type, attributes, ...(condition.checks ? { checks: condition.checks } : {}) } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
