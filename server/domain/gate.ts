import { z } from 'zod';

/**
 * Gates: what a `wait_for_signal` task waits for. A gate is a condition over
 * signals — a leaf `{type, ...attributes}` or `{all: [...]}` / `{any: [...]}` —
 * plus options (`timeout_s`, `on_timeout`, `rework`) on the outermost object.
 *
 * Normalization happens once, when the goal is created, so matching later is a
 * plain equality of attributes: `pr_url` becomes `repo` + `pr`, repos are lower
 * case, `pr` is a number, shas are lower case.
 */

export const GATE_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const KNOWN_GATE_TYPES = ['gh_ci', 'gh_review', 'centaur_review', 'human_approval'] as const;
const MAX_GATE_LEAVES = 32;
const OPTION_KEYS = new Set(['timeout_s', 'on_timeout', 'rework']);

export type GateAttributes = Record<string, string | number>;

/**
 * Attributes a leaf takes, when it opens, from what an earlier task reported:
 * `pr` (with `repo`; written as `pr`, `pr_url` or `repo` `{from: key}`) and
 * `sha` (the pull request's head). Until bound the leaf matches nothing.
 */
export interface GateBinding {
  from: string;
  pr: boolean;
  sha: boolean;
}

export interface GateLeaf {
  type: string;
  attributes: GateAttributes;
  bind?: GateBinding;
  /** gh_ci only: the checks that decide it (as branch protection's required checks); unset, every check does. */
  checks?: string[];
}

export type GateCondition = GateLeaf | { all: GateCondition[] } | { any: GateCondition[] };

export interface Gate {
  condition: GateCondition;
  timeoutS: number | null;
  onTimeout: 'fail' | 'pass';
  /** How many times a failing signal may send the work back before the gate fails. */
  rework: number;
}

const attributeValue = z.union([z.string().min(1).max(500), z.number().finite()]);

export type GateResult = { ok: true; gate: Gate } | { ok: false; error: string };

export function normalizeGate(raw: unknown): GateResult {
  if (!isRecord(raw)) return { ok: false, error: 'gate must be an object' };
  const options = z
    .object({
      timeout_s: z.number().int().min(1).max(30 * 24 * 3600).optional(),
      on_timeout: z.enum(['fail', 'pass']).optional(),
      rework: z.number().int().min(0).max(20).optional(),
    })
    .safeParse(pick(raw, OPTION_KEYS));
  if (!options.success) {
    return { ok: false, error: `gate options: ${options.error.issues.map(describeIssue).join('; ')}` };
  }
  const counter = { leaves: 0 };
  const condition = normalizeCondition(omit(raw, OPTION_KEYS), 'gate', counter);
  if (typeof condition === 'string') return { ok: false, error: condition };
  return {
    ok: true,
    gate: {
      condition,
      timeoutS: options.data.timeout_s ?? null,
      onTimeout: options.data.on_timeout ?? 'fail',
      rework: options.data.rework ?? 2,
    },
  };
}

function normalizeCondition(raw: unknown, where: string, counter: { leaves: number }): GateCondition | string {
  if (!isRecord(raw)) return `${where} must be an object`;
  for (const combinator of ['all', 'any'] as const) {
    if (combinator in raw) {
      const parts = raw[combinator];
      if (Object.keys(raw).length !== 1) return `${where}.${combinator} cannot be mixed with other fields`;
      if (!Array.isArray(parts) || parts.length === 0) return `${where}.${combinator} must be a non-empty array`;
      const normalized: GateCondition[] = [];
      for (const [i, part] of parts.entries()) {
        const child = normalizeCondition(part, `${where}.${combinator}[${i}]`, counter);
        if (typeof child === 'string') return child;
        normalized.push(child);
      }
      return combinator === 'all' ? { all: normalized } : { any: normalized };
    }
  }
  counter.leaves += 1;
  if (counter.leaves > MAX_GATE_LEAVES) return `gate has more than ${MAX_GATE_LEAVES} conditions`;
  return normalizeLeaf(raw, where);
}

function normalizeLeaf(raw: Record<string, unknown>, where: string): GateCondition | string {
  const { type, ...rest } = raw;
  if (typeof type !== 'string' || !GATE_TYPE_PATTERN.test(type)) {
    return `${where}.type must be a lowercase name like "gh_ci" (letters, digits, underscores)`;
  }
  const attributes: GateAttributes = {};
  let bind: GateBinding | undefined;
  const { checks: rawChecks, ...named } = rest;
  let checks: string[] | undefined;
  if (rawChecks !== undefined) {
    const parsed = requiredChecks.safeParse(rawChecks);
    if (type !== 'gh_ci') return `${where}.checks is only for gh_ci gates`;
    if (!parsed.success) return `${where}.checks must be a list of 1-50 check names`;
    checks = [...new Set(parsed.data)];
  }
  for (const [name, value] of Object.entries(named)) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) return `${where}.${name} is not a valid attribute name`;
    if (isRecord(value) && 'from' in value) {
      const from = parseFrom(value, name, where);
      if (typeof from === 'string') return from;
      if (bind && bind.from !== from.from) return `${where}: every {from} of one condition names the same task`;
      bind = { from: from.from, pr: (bind?.pr ?? false) || name !== 'sha', sha: (bind?.sha ?? false) || name === 'sha' };
      continue;
    }
    const parsed = attributeValue.safeParse(value);
    if (!parsed.success) return `${where}.${name} must be a string or a number`;
    attributes[name] = parsed.data;
  }
  const normalized = normalizeAttributes(attributes);
  if (typeof normalized === 'string') return `${where}: ${normalized}`;
  if (bind) {
    if (bind.pr && (normalized.repo !== undefined || normalized.pr !== undefined)) {
      return `${where}: a pull request taken {from} a task cannot also be named`;
    }
    if (bind.sha && normalized.sha !== undefined) return `${where}: a sha taken {from} a task cannot also be named`;
    return { type, attributes: normalized, bind, ...(checks ? { checks } : {}) };
  }
  if (Object.keys(normalized).length === 0 && type !== 'human_approval') {
    return `${where} names no attribute to match on (for example repo and pr)`;
  }
  return { type, attributes: normalized, ...(checks ? { checks } : {}) };
}

const requiredChecks = z.array(z.string().min(1).max(200)).min(1).max(50);

const BINDABLE = new Set(['pr', 'pr_url', 'repo', 'sha']);
const FROM_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

function parseFrom(value: Record<string, unknown>, name: string, where: string): { from: string } | string {
  if (!BINDABLE.has(name)) return `${where}.${name} cannot be taken {from} a task (only pr, pr_url, repo and sha can)`;
  if (Object.keys(value).length !== 1 || typeof value.from !== 'string' || !FROM_KEY.test(value.from)) {
    return `${where}.${name} must be {"from": "<task key>"}`;
  }
  return { from: value.from };
}

/** The task keys a gate takes attributes from. */
export function gateSources(condition: GateCondition): string[] {
  if ('all' in condition) return unique(condition.all.flatMap(gateSources));
  if ('any' in condition) return unique(condition.any.flatMap(gateSources));
  return condition.bind ? [condition.bind.from] : [];
}

/**
 * The shared normalization of gate and signal attributes, so that both sides of
 * a match speak the same form.
 */
export function normalizeAttributes(input: GateAttributes): GateAttributes | string {
  const out: GateAttributes = { ...input };
  if ('pr_url' in out) {
    const pr = parsePullRequestUrl(String(out.pr_url));
    if (!pr) return 'pr_url must look like https://<host>/<owner>/<repo>/pull/<number>';
    delete out.pr_url;
    if (out.repo !== undefined && String(out.repo).toLowerCase() !== pr.repo) return 'pr_url and repo disagree';
    if (out.pr !== undefined && Number(out.pr) !== pr.pr) return 'pr_url and pr disagree';
    out.repo = pr.repo;
    out.pr = pr.pr;
  }
  if (out.repo !== undefined) {
    const repo = String(out.repo).toLowerCase();
    if (!/^[a-z0-9_.-]+\/[a-z0-9_.-]+$/.test(repo)) return 'repo must look like owner/name';
    out.repo = repo;
  }
  if (out.pr !== undefined) {
    const pr = typeof out.pr === 'number' ? out.pr : /^\d+$/.test(out.pr) ? Number(out.pr) : NaN;
    if (!Number.isSafeInteger(pr) || pr <= 0) return 'pr must be a positive whole number';
    out.pr = pr;
  }
  if (out.sha !== undefined) {
    const sha = String(out.sha).toLowerCase();
    if (!/^[0-9a-f]{7,64}$/.test(sha)) return 'sha must be a hex commit id';
    out.sha = sha;
  }
  return out;
}

export function parsePullRequestUrl(url: string): { repo: string; pr: number } | null {
  const match = /^https?:\/\/[^/\s]+\/([^/\s]+)\/([^/\s]+)\/pulls?\/(\d+)(?:[/?#].*)?$/i.exec(url.trim());
  if (!match) return null;
  return { repo: `${match[1]}/${match[2]}`.toLowerCase(), pr: Number(match[3]) };
}

/**
 * The keys under which a gate is indexed. A leaf is filed under its type and
 * its most specific attribute (the pull request, else a task or goal, else its
 * first attribute by name); a signal probes every key it could satisfy, so a
 * resolve is a handful of index lookups however many gates wait.
 */
export function gateMatchKeys(condition: GateCondition): string[] {
  if ('all' in condition) return unique(condition.all.flatMap(gateMatchKeys));
  if ('any' in condition) return unique(condition.any.flatMap(gateMatchKeys));
  // Not bound yet: nothing can match it, so it is filed under nothing.
  if (condition.bind) return [];
  return [leafKey(condition.type, condition.attributes)];
}

const SUBJECT_ORDER = ['task_id', 'goal_id', 'repo', 'sha'];

function leafKey(type: string, attributes: GateAttributes): string {
  if (attributes.repo !== undefined && attributes.pr !== undefined) {
    return `${type}|pr=${attributes.repo}#${attributes.pr}`;
  }
  const names = Object.keys(attributes);
  const subject = SUBJECT_ORDER.find((n) => n in attributes) ?? names.sort()[0];
  if (subject === undefined) return `${type}|`;
  // A gate may name an abbreviated sha: file it under the prefix every spelling shares.
  if (subject === 'sha') return `${type}|sha7=${String(attributes.sha).slice(0, 7)}`;
  return `${type}|${subject}=${attributes[subject]}`;
}

/** Every key a signal with these attributes could be filed under. */
export function signalMatchKeys(type: string, attributes: GateAttributes): string[] {
  // No bare `${type}|` key: a signal never matches every gate of its type.
  const keys: string[] = [];
  if (attributes.repo !== undefined && attributes.pr !== undefined) {
    keys.push(`${type}|pr=${attributes.repo}#${attributes.pr}`);
  }
  for (const [name, value] of Object.entries(attributes)) keys.push(`${type}|${name}=${value}`);
  if (attributes.sha !== undefined) keys.push(`${type}|sha7=${String(attributes.sha).slice(0, 7)}`);
  return unique(keys);
}

function unique(keys: string[]): string[] {
  return [...new Set(keys)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(raw: Record<string, unknown>, keys: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => keys.has(k)));
}

function omit(raw: Record<string, unknown>, keys: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !keys.has(k)));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.join('.') || 'value'}: ${issue.message}`;
}

/** The normalized gate in its wire form: what is stored and what the API shows. */
export function gateToSpec(gate: Gate): Record<string, unknown> {
  const options: Record<string, unknown> = { on_timeout: gate.onTimeout, rework: gate.rework };
  if (gate.timeoutS !== null) options.timeout_s = gate.timeoutS;
  return { ...conditionToSpec(gate.condition), ...options };
}

function conditionToSpec(condition: GateCondition): Record<string, unknown> {
  if ('all' in condition) return { all: condition.all.map(conditionToSpec) };
  if ('any' in condition) return { any: condition.any.map(conditionToSpec) };
  const spec: Record<string, unknown> = { type: condition.type, ...condition.attributes };
  if (condition.bind?.pr) spec.pr = { from: condition.bind.from };
  if (condition.bind?.sha) spec.sha = { from: condition.bind.from };
  if (condition.checks) spec.checks = condition.checks;
  return spec;
}

/**
 * A leaf that names nothing to match on (`{type: 'human_approval'}`) is about
 * its own task: it is bound to the task's id, so that a signal naming that
 * task resolves it and nothing else does.
 */
export function bindGateToTask(condition: GateCondition, taskId: string): GateCondition {
  if ('all' in condition) return { all: condition.all.map((c) => bindGateToTask(c, taskId)) };
  if ('any' in condition) return { any: condition.any.map((c) => bindGateToTask(c, taskId)) };
  if (Object.keys(condition.attributes).length > 0 || condition.bind) return condition;
  return { type: condition.type, attributes: { task_id: taskId } };
}
