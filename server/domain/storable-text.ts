/**
 * Text Postgres can store. Postgres refuses NUL in text and jsonb (22021,
 * 22P05), and a lone UTF-16 surrogate has no UTF-8 form at all (the driver
 * turns it into bytes Postgres rejects, or silently into U+FFFD). Text that
 * arrives from outside (agent output, signals, requests) is made storable or
 * refused where it enters, so no write further in can fail on it.
 */

/** What takes the place of a character that cannot be stored. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Deepest JSON nesting accepted from outside: room for the deepest task tree
 * any configuration allows (two levels per task: the object and its
 * `children` array, at most 256 task levels) and far below the depth at which
 * recursive serializers (JSON.stringify, Postgres' jsonb input) run out of stack.
 */
export const MAX_JSON_DEPTH = 2 * 256 + 8;

const NUL_OR_SURROGATE = /[\u0000\ud800-\udfff]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units: no `u` flag). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LONE_SURROGATE_TEST = new RegExp(LONE_SURROGATE.source);

/** NUL and lone surrogates replaced by U+FFFD; valid surrogate pairs kept. The same string when nothing needs replacing. */
export function storableText(text: string): string {
  if (!NUL_OR_SURROGATE.test(text)) return text;
  return text.replaceAll('\u0000', REPLACEMENT_CHARACTER).replace(LONE_SURROGATE, REPLACEMENT_CHARACTER);
}

/** Why a string cannot be stored, or null when it can. */
export function unstorableReason(text: string): string | null {
  if (!NUL_OR_SURROGATE.test(text)) return null;
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  return LONE_SURROGATE_TEST.test(text) ? 'must not contain lone UTF-16 surrogates' : null;
}

/**
 * A JSON value with every string, keys included, made storable. Iterative, so
 * any depth is safe; the value itself when nothing needed replacing.
 */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (typeof value !== 'object' || value === null || findUnstorable(value) === null) return value;
  const root = emptyLike(value);
  const stack: [object, Record<string, unknown>][] = [[value, root]];
  while (stack.length > 0) {
    const [source, target] = stack.pop()!;
    for (const [key, child] of Object.entries(source)) {
      let copy: unknown = child;
      if (typeof child === 'string') copy = storableText(child);
      else if (typeof child === 'object' && child !== null) {
        copy = emptyLike(child);
        stack.push([child, copy as Record<string, unknown>]);
      }
      // defineProperty, not assignment: a key "__proto__" stays a plain key.
      Object.defineProperty(target, Array.isArray(source) ? key : storableText(key), {
        value: copy,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root as T;
}

export interface Unstorable {
  /** Where: the keys and indexes from the root (none for the root itself), each storable. */
  path: string[];
  problem: string;
}

/**
 * The first place, in document order, where a JSON value holds text that
 * cannot be stored (in a string or a key) or nests deeper than `maxDepth`
 * (the root object or array is level 1); null when there is none. Iterative,
 * so a hostile depth cannot blow the stack.
 */
export function findUnstorable(value: unknown, maxDepth = Number.POSITIVE_INFINITY): Unstorable | null {
  const stack: Visit[] = [{ value, key: null, parent: null, depth: 0 }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    if (visit.key !== null && visit.parent !== null && !Array.isArray(visit.parent.value)) {
      const problem = unstorableReason(visit.key);
      if (problem) return { path: pathOf(visit), problem: `key ${problem}` };
    }
    if (typeof visit.value === 'string') {
      const problem = unstorableReason(visit.value);
      if (problem) return { path: pathOf(visit), problem };
      continue;
    }
    if (typeof visit.value !== 'object' || visit.value === null) continue;
    if (visit.depth + 1 > maxDepth) return { path: pathOf(visit), problem: `nested too deeply (more than ${maxDepth} levels)` };
    const entries = Object.entries(visit.value);
    // Reversed onto the stack so the first child is looked at first.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      stack.push({ value: child, key, parent: visit, depth: visit.depth + 1 });
    }
  }
  return null;
}

/** A node being looked at; a path is built only for the one reported, so depth costs no copying. The path itself is storable. */
interface Visit {
  value: unknown;
  key: string | null;
  parent: Visit | null;
  depth: number;
}

function pathOf(visit: Visit): string[] {
  const keys: string[] = [];
  for (let at: Visit | null = visit; at !== null && at.key !== null; at = at.parent) keys.push(storableText(at.key));
  return keys.reverse();
}

function emptyLike(value: object): Record<string, unknown> {
  return (Array.isArray(value) ? [] : {}) as Record<string, unknown>;
}
