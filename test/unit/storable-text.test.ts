import { describe, expect, it } from 'vitest';
import { findUnstorable, storableJson, storableText } from '../../server/domain/storable-text.js';

const HIGH = '\ud83d';
const LOW = '\ude00';
const PAIR = HIGH + LOW; // 😀

/** A JSON text nested `depth` levels deep, parsed without any recursion of ours. */
function nested(depth: number, leaf: unknown = 'leaf'): unknown {
  return JSON.parse('{"x":'.repeat(depth) + JSON.stringify(leaf) + '}'.repeat(depth));
}

describe('storableText', () => {
  it('replaces NUL and lone surrogates with U+FFFD, one for one', () => {
    expect(storableText('a\u0000b')).toBe('a\uFFFDb');
    expect(storableText(`x${HIGH}y`)).toBe('x\uFFFDy');
    expect(storableText(`x${LOW}y`)).toBe('x\uFFFDy');
    expect(storableText(`${HIGH}`)).toBe('\uFFFD');
    expect(storableText(`${LOW}${HIGH}`)).toBe('\uFFFD\uFFFD');
    expect(storableText(`${HIGH}${HIGH}${LOW}`)).toBe(`\uFFFD${PAIR}`);
    expect(storableText('\u0000\u0000')).toBe('\uFFFD\uFFFD');
  });

  it('keeps valid pairs and ordinary text as they are', () => {
    expect(storableText(`ok ${PAIR} ✓ ü`)).toBe(`ok ${PAIR} ✓ ü`);
    expect(storableText('')).toBe('');
  });

  it('gives back text that Postgres can store: nothing unstorable is left', () => {
    for (const text of ['\u0000', HIGH, LOW, `${LOW}${PAIR}${HIGH}\u0000`]) {
      expect(findUnstorable(storableText(text))).toBeNull();
    }
  });
});

describe('storableJson', () => {
  it('makes every string storable, keys included, and leaves other values alone', () => {
    const value = { 'k\u0000': ['a\u0000', 1, true, null, { deep: `x${HIGH}` }], ok: PAIR };
    expect(storableJson(value)).toEqual({ 'k\uFFFD': ['a\uFFFD', 1, true, null, { deep: 'x\uFFFD' }], ok: PAIR });
  });

  it('does not change its input, and returns the input itself when nothing needs replacing', () => {
    const dirty = { a: ['b\u0000'] };
    storableJson(dirty);
    expect(dirty).toEqual({ a: ['b\u0000'] });
    const clean = { a: [PAIR, 1] };
    expect(storableJson(clean)).toBe(clean);
    expect(storableJson('a\u0000')).toBe('a\uFFFD');
    expect(storableJson(42)).toBe(42);
  });

  it('keeps a "__proto__" key a plain key', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": "x\\u0000"}}') as Record<string, unknown>;
    const copy = storableJson(parsed);
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('walks any depth without running out of stack', () => {
    const copy = storableJson(nested(100_000, 'a\u0000')) as Record<string, unknown>;
    let at: unknown = copy;
    for (let i = 0; i < 100_000; i++) at = (at as { x: unknown }).x;
    expect(at).toBe('a\uFFFD');
  });
});

describe('findUnstorable', () => {
  it('names the first offending path in document order', () => {
    expect(findUnstorable({ a: 'ok', b: [1, 'x\u0000'], c: 'y\u0000' })).toEqual({ path: ['b', '1'], problem: 'must not contain NUL characters' });
    expect(findUnstorable({ a: { b: `x${LOW}` } })).toEqual({ path: ['a', 'b'], problem: 'must not contain lone UTF-16 surrogates' });
    expect(findUnstorable('\u0000')).toEqual({ path: [], problem: 'must not contain NUL characters' });
  });

  it('finds keys that cannot be stored, and shows the key storably', () => {
    expect(findUnstorable({ meta: { 'k\u0000': 1 } })).toEqual({ path: ['meta', 'k\uFFFD'], problem: 'key must not contain NUL characters' });
  });

  it('finds nothing in storable values', () => {
    expect(findUnstorable({ a: [PAIR, 1, null, false], b: '' })).toBeNull();
    expect(findUnstorable(null)).toBeNull();
  });

  it('reports nesting deeper than the limit, where the limit is crossed, at any depth', () => {
    expect(findUnstorable(nested(3), 3)).toBeNull();
    expect(findUnstorable(nested(4), 3)).toEqual({ path: ['x', 'x', 'x'], problem: 'nested too deeply (more than 3 levels)' });
    expect(findUnstorable(nested(200_000), 100)?.problem).toBe('nested too deeply (more than 100 levels)');
    expect(findUnstorable(nested(200_000, 'a\u0000'))?.problem).toBe('must not contain NUL characters');
  });
});
