import { describe, expect, it } from 'vitest';
import {
  placeholdersIn,
  resolveParameters,
  sampleValues,
  substitute,
  type ParameterSpecs,
} from '../../server/templates/substitution.js';

const specs: ParameterSpecs = {
  repo: { type: 'string' },
  pr_title: { type: 'string' },
  base_ref: { type: 'string', default: 'main' },
  rework: { type: 'integer', default: 3 },
  draft: { type: 'boolean', required: false },
};

describe('resolveParameters', () => {
  it('fills defaults and keeps what was given', () => {
    const result = resolveParameters(specs, { repo: '/srv/web', pr_title: 'Fix', rework: 5 });
    expect(result).toEqual({ ok: true, values: { repo: '/srv/web', pr_title: 'Fix', base_ref: 'main', rework: 5 } });
  });

  it('names every missing and every unknown parameter', () => {
    const result = resolveParameters(specs, { repo: '/srv/web', colour: 'red', size: 2 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toBe('missing parameters: pr_title; unknown parameters: colour, size');
    expect(result.problems.map((p) => p.path).sort()).toEqual(['params.colour', 'params.pr_title', 'params.size']);
  });

  it('refuses a value of the wrong type, and a fraction for an integer', () => {
    for (const given of [{ rework: 1.5 }, { rework: '3' }, { draft: 'yes' }, { pr_title: 7 }]) {
      const result = resolveParameters(specs, { repo: '/r', pr_title: 'T', ...given });
      expect(result.ok, JSON.stringify(given)).toBe(false);
      if (!result.ok) expect(result.problems).toHaveLength(1);
    }
  });

  it('takes a default over an explicitly required flag only when a value is given', () => {
    const result = resolveParameters({ x: { type: 'string', required: true, default: 'd' } }, {});
    expect(result.ok).toBe(false);
  });

  it('does not take names from the prototype as parameters', () => {
    const result = resolveParameters({}, { constructor: 'x' });
    expect(result.ok).toBe(false);
  });
});

describe('substitute', () => {
  it('fills placeholders inside text and gives a lone placeholder its typed value', () => {
    const body = { title: 'PR: {{ pr_title }} on {{base_ref}}', max_parallel: '{{rework}}', gate: { rework: '{{rework}}', draft: '{{draft}}' } };
    expect(substitute(body, { pr_title: 'Fix', base_ref: 'main', rework: 3, draft: true })).toEqual({
      title: 'PR: Fix on main',
      max_parallel: 3,
      gate: { rework: 3, draft: true },
    });
  });

  it('inserts values as data: placeholder syntax inside a value is never expanded', () => {
    const body = { title: '{{pr_title}}', description: 'for {{pr_title}} in {{repo}}' };
    const result = substitute(body, { pr_title: 'steal {{repo}} and {{pr_title}}', repo: '/srv/secret' });
    expect(result).toEqual({
      title: 'steal {{repo}} and {{pr_title}}',
      description: 'for steal {{repo}} and {{pr_title}} in /srv/secret',
    });
  });

  it('leaves keys, unknown placeholders, non-strings and the template itself alone', () => {
    const body = { '{{repo}}': '{{nope}}', tasks: [{ key: 'a', priority: 2, done: false, note: null, instructions: '{{repo}}' }] };
    const before = structuredClone(body);
    expect(substitute(body, { repo: '/r' })).toEqual({ '{{repo}}': '{{nope}}', tasks: [{ key: 'a', priority: 2, done: false, note: null, instructions: '/r' }] });
    expect(body).toEqual(before);
  });

  it('walks a deep body without recursion', () => {
    let body: Record<string, unknown> = { leaf: '{{repo}}' };
    for (let i = 0; i < 20_000; i++) body = { next: body };
    let result = substitute(body, { repo: '/r' }) as Record<string, unknown>;
    for (let i = 0; i < 20_000; i++) result = result.next as Record<string, unknown>;
    expect(result.leaf).toBe('/r');
  });
});

describe('placeholdersIn and sampleValues', () => {
  it('finds the names the strings use, in values only', () => {
    expect([...placeholdersIn({ a: '{{repo}} {{ pr_title }}', b: ['{{x}}'], '{{key}}': 1, c: '{{ Not-A-Name }}' })].sort()).toEqual(['pr_title', 'repo', 'x']);
  });

  it('samples with the example, then the default, then a stand-in of the type', () => {
    expect(
      sampleValues({ a: { type: 'string', example: '/srv/x', default: '/d' }, b: { type: 'string', default: 'main' }, c: { type: 'integer' }, d: { type: 'boolean' } }),
    ).toEqual({ a: '/srv/x', b: 'main', c: 1, d: false });
  });
});
