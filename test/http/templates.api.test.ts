import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { getTemplate } from '../../server/store/templates.js';
import { SHIPPED_TEMPLATES_DIR, loadShippedTemplates } from '../../server/templates/shipped-templates.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { tablesAsText } from '../support/triggers.js';

let database: TestDatabase;
let app: ReturnType<typeof testApp>;

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database.db);
});
afterAll(() => database.destroy());

/** Every row a template request could write: equal before and after means nothing changed. */
const snapshot = () => tablesAsText(database.db, ['templates', 'goals', 'tasks', 'task_dependencies', 'events']);

let names = 0;
/** A small shepherd-like template: work, a CI gate, a review. */
function template(overrides: Record<string, unknown> = {}) {
  return {
    name: `fix-${++names}`,
    description: 'Fix one thing and get it reviewed',
    parameters: {
      repo: { type: 'string', example: '/srv/repos/web', description: 'where the agent works' },
      title: { type: 'string', example: 'Fix login' },
      pr: { type: 'integer', example: 7 },
      base_ref: { type: 'string', default: 'main' },
      parallel: { type: 'integer', default: 2 },
    },
    body: {
      title: '{{title}}',
      description: 'Change "{{title}}" against {{base_ref}}',
      repo: '{{repo}}',
      base_ref: '{{base_ref}}',
      max_parallel: '{{parallel}}',
      tasks: [
        { key: 'work', title: 'Do {{title}}', instructions: 'In {{repo}}: {{title}}' },
        { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', repo: 'acme/web', pr: '{{pr}}' } },
        { key: 'ok', title: 'Review', kind: 'human_review' },
      ],
    },
    ...overrides,
  };
}

async function expectRefused(method: string, url: string, body: unknown, status: number, pathOrMessage: RegExp) {
  const before = await snapshot();
  const res = await call(app, method, url, body);
  expect(res.status, res.text).toBe(status);
  expect(res.json.request_id).toBeTruthy();
  expect(`${res.json.error} ${JSON.stringify(res.json.details ?? [])}`).toMatch(pathOrMessage);
  expect(await snapshot()).toBe(before);
  return res.json;
}

describe('POST /api/templates', () => {
  it('stores a template that makes a valid goal, and lists and shows it', async () => {
    const body = template();
    const res = await call(app, 'POST', '/api/templates', body);
    expect(res.status, res.text).toBe(201);
    expect(res.json.template).toMatchObject({ name: body.name, source: 'api', body: body.body });
    expect(res.json.template.parameters.repo).toEqual({ type: 'string', example: '/srv/repos/web', description: 'where the agent works' });

    const one = await call(app, 'GET', `/api/templates/${body.name}`);
    expect(one.status).toBe(200);
    expect(one.json.template).toEqual(res.json.template);
    const all = await call(app, 'GET', '/api/templates');
    expect(all.json.templates.map((t: { name: string }) => t.name)).toContain(body.name);
  });

  it('refuses a name that is taken with 409, changing nothing', async () => {
    const body = template();
    expect((await call(app, 'POST', '/api/templates', body)).status).toBe(201);
    await expectRefused('POST', '/api/templates', { ...body, description: 'again' }, 409, /already exists/);
  });

  it.each([
    ['a bad name', { name: 'Bad Name' }, /name/],
    ['an unknown field', { colour: 'red' }, /colour|unrecognized/i],
    ['a bad parameter name', { parameters: { 'Bad-Name': { type: 'string' } } }, /parameters\.Bad-Name/],
    ['an unknown parameter type', { parameters: { x: { type: 'date' } } }, /parameters\.x\.type/],
    ['a placeholder for no parameter', { parameters: {} }, /undeclared parameters: title, base_ref, parallel, repo, pr|undeclared parameters/],
    ['a default of the wrong type', { parameters: { ...template().parameters, parallel: { type: 'integer', default: 'two' } } }, /parameters\.parallel\.default/],
    ['an example of the wrong type', { parameters: { ...template().parameters, pr: { type: 'integer', example: 7.5 } } }, /parameters\.pr\.example/],
    ['a body that is no object', { body: ['x'] }, /body/],
    ['a body with an unknown goal field', { body: { ...template().body, colour: 'red' } }, /not a valid goal/],
    ['a body whose sample repo is no absolute path', { parameters: { ...template().parameters, repo: { type: 'string', example: 'relative/path' } } }, /body\.repo.*absolute/],
    ['a body with a dependency cycle', { body: { ...template().body, tasks: [{ key: 'a', title: 'A', depends_on: ['b'] }, { key: 'b', title: 'B', depends_on: ['a'] }] } }, /cycle/],
    ['a body with a gate on an agent task', { body: { ...template().body, tasks: [{ key: 'a', title: 'A', gate: { type: 'gh_ci' } }] } }, /gate belongs/],
    ['a body with a bad base_ref', { body: { ...template().body, base_ref: 'a b' } }, /base_ref/],
    ['a body with no tasks', { body: { ...template().body, tasks: [] } }, /tasks/],
  ])('refuses %s with 422, changing nothing', async (_what, overrides, pattern) => {
    await expectRefused('POST', '/api/templates', template(overrides), 422, pattern);
  });

  it('refuses text Postgres cannot store and absurd nesting with 422', async () => {
    await expectRefused('POST', '/api/templates', template({ description: 'a\u0000b' }), 422, /description/);
    const deep = JSON.stringify(template()).replace('"body":{', `"extra":${'{"x":'.repeat(2000)}1${'}'.repeat(2000)},"body":{`);
    await expectRefused('POST', '/api/templates', deep, 422, /deep|nest/i);
  });
});

describe('POST /api/templates/:name/goals', () => {
  let name: string;
  beforeAll(async () => {
    const body = template();
    name = body.name;
    expect((await call(app, 'POST', '/api/templates', body)).status).toBe(201);
  });

  it('creates the goal POST /api/goals would, with defaults and typed values filled in', async () => {
    const res = await call(app, 'POST', `/api/templates/${name}/goals`, { params: { repo: '/srv/repos/api', title: 'Fix logout', pr: 12 } });
    expect(res.status, res.text).toBe(201);
    expect(res.json.goal).toMatchObject({
      title: 'Fix logout',
      description: 'Change "Fix logout" against main',
      repo: '/srv/repos/api',
      base_ref: 'main',
      max_parallel: 2,
      status: 'pending',
      metadata: { template: { name, params: { repo: '/srv/repos/api', title: 'Fix logout', pr: 12, base_ref: 'main', parallel: 2 } } },
    });
    expect(res.json.tasks.map((t: { key: string }) => t.key)).toEqual(['work', 'ci', 'ok']);
    const gate = await database.db.selectFrom('tasks').select('gate').where('id', '=', res.json.tasks[1].id).executeTakeFirstOrThrow();
    expect(JSON.stringify(gate.gate)).toContain('"pr":12');
    const stored = await call(app, 'GET', `/api/goals/${res.json.goal.id}`);
    expect(stored.json.tasks[0].instructions).toBe('In /srv/repos/api: Fix logout');
  });

  it('keeps placeholder syntax inside a value as text', async () => {
    const res = await call(app, 'POST', `/api/templates/${name}/goals`, { params: { repo: '/srv/repos/api', title: '{{repo}} {{base_ref}}', pr: 1 } });
    expect(res.status, res.text).toBe(201);
    expect(res.json.goal.title).toBe('{{repo}} {{base_ref}}');
  });

  it('names every missing and unknown parameter in a 422, changing nothing', async () => {
    const json = await expectRefused('POST', `/api/templates/${name}/goals`, { params: { repo: '/srv/r', colour: 'red' } }, 422, /missing parameters: pr, title; unknown parameters: colour/);
    expect(json.details.map((d: { path: string }) => d.path).sort()).toEqual(['params.colour', 'params.pr', 'params.title']);
    await expectRefused('POST', `/api/templates/${name}/goals`, undefined, 422, /missing parameters: pr, repo, title/);
  });

  it.each([
    ['a value of the wrong type', { repo: '/srv/r', title: 'T', pr: 'twelve' }, /parameter "pr" must be an integer/],
    ['a value that makes the goal invalid', { repo: 'relative', title: 'T', pr: 1 }, /not valid: repo: must be an absolute path/],
    ['a value that makes the gate invalid', { repo: '/srv/r', title: 'T', pr: -3 }, /task "ci"/],
    ['a title over the goal limit', { repo: '/srv/r', title: 'x'.repeat(501), pr: 1 }, /title/],
  ])('refuses %s with 422, changing nothing', async (_what, params, pattern) => {
    await expectRefused('POST', `/api/templates/${name}/goals`, { params }, 422, pattern);
  });

  it('refuses a body that is not {params} with 422, and an unknown template with 404', async () => {
    await expectRefused('POST', `/api/templates/${name}/goals`, { repo: '/srv/r' }, 422, /repo|unrecognized/i);
    await expectRefused('POST', `/api/templates/${name}/goals`, { params: { title: { nested: 1 } } }, 422, /params\.title/);
    await expectRefused('POST', '/api/templates/no-such-template/goals', { params: {} }, 404, /template not found/);
    expect((await call(app, 'GET', '/api/templates/no-such-template')).status).toBe(404);
  });

  it('runs the same checks of the machine as POST /api/goals', async () => {
    const strict = createApp({
      db: database.db,
      logger: createLogger('silent'),
      config: testConfig(),
      goalPreflight: async ({ repo }) => (repo === '/srv/missing' ? { field: 'repo', message: 'repo /srv/missing is not a git repository' } : null),
    });
    const before = await snapshot();
    const res = await strict.request(`/api/templates/${name}/goals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ params: { repo: '/srv/missing', title: 'T', pr: 1 } }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/not a git repository/);
    expect(await snapshot()).toBe(before);
  });
});

describe('shipped templates', () => {
  it('loads the files that pass and reports the ones that do not, by name, with what is wrong', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'arbor-templates-'));
    try {
      const good = template({ name: 'shipped-good' });
      await writeFile(path.join(dir, 'good.json'), JSON.stringify(good));
      await writeFile(path.join(dir, 'broken.json'), '{ not json');
      await writeFile(path.join(dir, 'invalid.json'), JSON.stringify(template({ name: 'shipped-invalid', parameters: {} })));
      const result = await loadShippedTemplates(database.db, dir, testConfig().goals, createLogger('silent'));
      expect(result.loaded).toEqual(['shipped-good']);
      expect(result.rejected.map((r) => r.file)).toEqual(['broken.json', 'invalid.json']);
      expect(result.rejected[1]!.message).toMatch(/undeclared parameters/);
      expect((await getTemplate(database.db, 'shipped-good'))?.source).toBe('file');
      expect(await getTemplate(database.db, 'shipped-invalid')).toBeUndefined();

      // The file is the truth: a changed file replaces what the database holds.
      await writeFile(path.join(dir, 'good.json'), JSON.stringify({ ...good, description: 'changed' }));
      await loadShippedTemplates(database.db, dir, testConfig().goals, createLogger('silent'));
      expect((await getTemplate(database.db, 'shipped-good'))?.description).toBe('changed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // pr-shepherd binds its gates to the PR the implement task reports ({"from": "implement"}).
  it('ships pr-shepherd, which starts as one call', async () => {
    const result = await loadShippedTemplates(database.db, SHIPPED_TEMPLATES_DIR, testConfig().goals, createLogger('silent'));
    expect(result.rejected).toEqual([]);
    expect(result.loaded).toContain('pr-shepherd');
    const res = await call(app, 'POST', '/api/templates/pr-shepherd/goals', {
      params: { repo: '/srv/repos/web', pr_title: 'Fix the flaky login test', instructions: 'Make the login test independent of the clock.' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.tasks.map((t: { key: string; kind: string }) => `${t.key}:${t.kind}`)).toEqual([
      'implement:agent',
      'ci:wait_for_signal',
      'bot-review:wait_for_signal',
      'human-review:human_review',
    ]);
  });
});
