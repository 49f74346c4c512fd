/**
 * A template's parameters and how their values fill its `{{name}}` placeholders.
 * Pure: no I/O, so every rule here is unit-tested on its own.
 *
 * Placeholders are only read from the template's own strings. A value is data:
 * it is inserted as it is and never scanned again, so a pull request title
 * that reads `{{repo}}` stays that text instead of becoming the repository.
 */

export const PARAMETER_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export type ParameterValue = string | number | boolean;

export interface ParameterSpec {
  type: ParameterType;
  description?: string;
  /** Absent: required unless it has a default. */
  required?: boolean;
  default?: ParameterValue;
  /** A value to validate the template with when it is stored; none means the default, then a stand-in of its type. */
  example?: ParameterValue;
}

export type ParameterSpecs = Record<string, ParameterSpec>;
export type ParameterValues = Record<string, ParameterValue>;

export const PARAMETER_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;
const PLACEHOLDER = /\{\{\s*([a-z_][a-z0-9_]{0,63})\s*\}\}/g;
/** A string that is one placeholder and nothing else takes the value's own type (a number stays a number). */
const WHOLE_PLACEHOLDER = /^\{\{\s*([a-z_][a-z0-9_]{0,63})\s*\}\}$/;

export interface ParameterProblem {
  path: string;
  message: string;
}

export function isRequired(spec: ParameterSpec): boolean {
  return spec.required ?? spec.default === undefined;
}

/** Whether `value` is of `type`; an integer is a whole number. */
export function valueFits(type: ParameterType, value: unknown): value is ParameterValue {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

/**
 * The values a start of the template uses: the given ones, checked against
 * their declarations, with defaults for the rest. Every unknown, missing or
 * mistyped parameter is named, not only the first.
 */
export function resolveParameters(
  specs: ParameterSpecs,
  given: Record<string, unknown>,
): { ok: true; values: ParameterValues } | { ok: false; message: string; problems: ParameterProblem[] } {
  const problems: ParameterProblem[] = [];
  // Sorted: a template read back from jsonb has its keys in Postgres' order, not the author's.
  const unknown = Object.keys(given)
    .filter((name) => !Object.hasOwn(specs, name))
    .sort();
  const missing = Object.entries(specs)
    .filter(([name, spec]) => given[name] === undefined && isRequired(spec))
    .map(([name]) => name)
    .sort();
  for (const name of unknown) problems.push({ path: `params.${name}`, message: `unknown parameter "${name}"` });
  for (const name of missing) problems.push({ path: `params.${name}`, message: `missing required parameter "${name}"` });
  const values: ParameterValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) continue;
    if (valueFits(spec.type, value)) values[name] = value;
    else problems.push({ path: `params.${name}`, message: `parameter "${name}" must be ${article(spec.type)}` });
  }
  if (problems.length === 0) return { ok: true, values };
  const parts = [
    missing.length > 0 ? `missing parameters: ${missing.join(', ')}` : null,
    unknown.length > 0 ? `unknown parameters: ${unknown.join(', ')}` : null,
  ].filter((part): part is string => part !== null);
  const message = parts.length > 0 ? parts.join('; ') : problems[0]!.message;
  return { ok: false, message, problems };
}

/** Values to check a template with before it is stored: examples, then defaults, then a stand-in of each type. */
export function sampleValues(specs: ParameterSpecs): ParameterValues {
  const standIn: Record<ParameterType, ParameterValue> = { string: 'sample', integer: 1, number: 1, boolean: false };
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, spec.example ?? spec.default ?? standIn[spec.type]]),
  );
}

/** Every parameter name the template's strings refer to. */
export function placeholdersIn(body: unknown): Set<string> {
  const names = new Set<string>();
  visitStrings(body, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) names.add(match[1]!);
  });
  return names;
}

/**
 * The template body with each placeholder replaced by its value. Object keys
 * are left alone: they are the goal request's field names, not content.
 */
export function substitute(body: unknown, values: ParameterValues): unknown {
  // Iterative over an explicit stack of containers: a deep body cannot overflow the call stack.
  const fill = (text: string): unknown => {
    const whole = WHOLE_PLACEHOLDER.exec(text);
    if (whole && Object.hasOwn(values, whole[1]!)) return values[whole[1]!];
    // One pass over the template's text: the replacement is never matched again.
    return text.replace(PLACEHOLDER, (found, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : found));
  };
  const copy = (value: unknown): unknown => {
    if (typeof value === 'string') return fill(value);
    if (Array.isArray(value)) return [...value];
    if (value !== null && typeof value === 'object') return { ...(value as Record<string, unknown>) };
    return value;
  };
  const root = { value: copy(body) };
  const stack: unknown[] = [root.value];
  while (stack.length > 0) {
    const container = stack.pop();
    if (container === null || typeof container !== 'object') continue;
    const entries = container as Record<string, unknown>;
    for (const key of Object.keys(entries)) {
      const next = copy(entries[key]);
      entries[key] = next;
      if (next !== null && typeof next === 'object') stack.push(next);
    }
  }
  return root.value;
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') visit(current);
    else if (current !== null && typeof current === 'object') stack.push(...Object.values(current as Record<string, unknown>));
  }
}

function article(type: ParameterType): string {
  return type === 'integer' ? 'an integer' : `a ${type}`;
}
