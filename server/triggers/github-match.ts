/**
 * Whether a GitHub event starts a trigger's goal, and the parameters it takes
 * from the payload. Pure.
 */

export interface GithubFilters {
  /** The payload's `action` ("opened", "labeled"); none: any action. */
  action?: string;
  /** `owner/name`, compared case-insensitively as GitHub does. */
  repository?: string;
  /** A label the event adds (`labeled`) or the pull request / issue carries. */
  label?: string;
}

type Payload = Record<string, unknown>;

const isRecord = (value: unknown): value is Payload => value !== null && typeof value === 'object' && !Array.isArray(value);

export function matchesFilters(filters: GithubFilters, payload: unknown): boolean {
  if (!isRecord(payload)) return false;
  if (filters.action !== undefined && payload.action !== filters.action) return false;
  if (filters.repository !== undefined) {
    const name = valueAt(payload, 'repository.full_name');
    if (typeof name !== 'string' || name.toLowerCase() !== filters.repository.toLowerCase()) return false;
  }
  if (filters.label !== undefined && !labelsOf(payload).includes(filters.label)) return false;
  return true;
}

/** The label the event is about plus those on its pull request or issue. */
function labelsOf(payload: Payload): string[] {
  const names: string[] = [];
  const add = (label: unknown) => {
    if (isRecord(label) && typeof label.name === 'string') names.push(label.name);
  };
  add(payload.label);
  for (const subject of [payload.pull_request, payload.issue]) {
    if (isRecord(subject) && Array.isArray(subject.labels)) subject.labels.forEach(add);
  }
  return names;
}

/** A dotted path into the payload ("pull_request.html_url", "issue.number"); undefined when it leads nowhere. */
export function valueAt(payload: unknown, path: string): unknown {
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

export const PAYLOAD_PATH_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,99}(\.[A-Za-z0-9_]{1,100}){0,15}$/;

/** The parameters `paramsFrom` ({parameter: payload path}) names, or which of them the payload lacks. */
export function paramsFromPayload(
  paramsFrom: Record<string, string>,
  payload: unknown,
): { ok: true; values: Record<string, string | number | boolean> } | { ok: false; message: string } {
  const values: Record<string, string | number | boolean> = {};
  const lacking: string[] = [];
  for (const [name, path] of Object.entries(paramsFrom)) {
    const value = valueAt(payload, path);
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) values[name] = value;
    else lacking.push(`${name} (${path})`);
  }
  if (lacking.length > 0) return { ok: false, message: `the event's payload has no string, number or boolean at: ${lacking.join(', ')}` };
  return { ok: true, values };
}
