import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../../client/generate-api-types.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { TaskSchema } from '../../server/http/tasks/tasks.schemas.js';
import { activateReadyTasks } from '../../server/store/dispatch.js';
import { EVENT_TYPES } from '../../server/domain/event-types.js';
import { call, testApp, testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The OpenAPI document is what the typed client (client/) is generated from:
 * every operation named once, the server declared, event types enumerated,
 * a task's gate and result typed, and the committed client types equal to
 * what the current app generates.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

async function documentOf(app: ReturnType<typeof testApp>) {
  const res = await call(app, 'GET', '/openapi.json');
  expect(res.status).toBe(200);
  return res.json as { servers: { url: string }[]; paths: Record<string, Record<string, { operationId?: string }>>; components: { schemas: Record<string, any> } };
}

describe('the OpenAPI document', () => {
  it('names every operation with a unique camelCase operationId', async () => {
    const doc = await documentOf(testApp(database.db));
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, id: operation.operationId })),
    );
    expect(operations.length).toBeGreaterThan(20);
    const missing = operations.filter((o) => !o.id).map((o) => o.route);
    expect(missing, 'operations without an operationId').toEqual([]);
    const malformed = operations.filter((o) => !/^[a-z]+[A-Z][A-Za-z0-9]*$/.test(o.id!)).map((o) => `${o.route}: ${o.id}`);
    expect(malformed, 'operationIds that are not camelCase verbNoun').toEqual([]);
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const o of operations) {
      if (seen.has(o.id!)) duplicates.push(`${o.id} (${seen.get(o.id!)} and ${o.route})`);
      seen.set(o.id!, o.route);
    }
    expect(duplicates, 'operationIds used twice').toEqual([]);
  });

  it('declares the server: the public URL, else the listen address, else the address asked', async () => {
    const fixed = await documentOf(testApp(database.db, testConfig({ http: { host: '127.0.0.1', port: 8123 } })));
    expect(fixed.servers).toEqual([{ url: 'http://127.0.0.1:8123' }]);
    const publicUrl = await documentOf(
      createApp({ db: database.db, logger: createLogger('silent'), config: { ...testConfig(), sessions: { publicUrl: 'https://arbor.example.com/' } } }),
    );
    expect(publicUrl.servers).toEqual([{ url: 'https://arbor.example.com' }]);
    // Port 0: picked at start, so the document names the origin the client reached it at.
    const picked = await documentOf(testApp(database.db, testConfig({ http: { port: 0 } })));
    expect(picked.servers).toEqual([{ url: 'http://localhost' }]);
  });

  it('enumerates the event types and types a task gate and result', async () => {
    const doc = await documentOf(testApp(database.db));
    const schemas = doc.components.schemas;
    expect(schemas.EventType.enum).toEqual([...EVENT_TYPES]);
    expect(schemas.Event.properties.type).toEqual({ $ref: '#/components/schemas/EventType' });
    expect(schemas.Task.properties.gate.anyOf).toContainEqual({ $ref: '#/components/schemas/Gate' });
    expect(schemas.Task.properties.result.anyOf).toContainEqual({ $ref: '#/components/schemas/TaskResult' });
    expect(Object.keys(schemas.TaskResult.properties)).toEqual(expect.arrayContaining(['summary', 'branch', 'commits', 'approved', 'signal_ids']));
  });

  it('describes the gates and results the API really returns', async () => {
    const app = testApp(database.db);
    const created = await call(app, 'POST', '/api/goals', {
      title: 'Typed fields',
      repo: '/srv/repos/typed',
      base_ref: 'main',
      agent: 'command',
      children_mode: 'parallel',
      tasks: [
        { key: 'work', title: 'Work' },
        { key: 'ci', title: 'CI', kind: 'wait_for_signal', gate: { type: 'gh_ci', pr_url: 'https://github.com/Acme/Web/pull/7', timeout_s: 600 } },
        { key: 'both', title: 'Both', kind: 'wait_for_signal', depends_on: ['work'], gate: { all: [{ type: 'gh_ci', pr: { from: 'work' } }, { type: 'gh_review', repo: 'acme/web', pr: 7, team: 'core' }] } },
        { key: 'person', title: 'Person', kind: 'wait_for_signal', gate: { type: 'human_approval' } },
        { key: 'review', title: 'Review', kind: 'human_review' },
      ],
    });
    expect(created.status, created.text).toBe(201);
    for (const task of created.json.tasks) expect(() => TaskSchema.parse(task), task.key).not.toThrow();
    const byKey = Object.fromEntries((created.json.tasks as { key: string; id: string; gate: unknown }[]).map((t) => [t.key, t]));
    expect(byKey.ci!.gate).toEqual({ type: 'gh_ci', repo: 'acme/web', pr: 7, timeout_s: 600, on_timeout: 'fail', rework: 2 });
    expect(byKey.both!.gate).toMatchObject({ all: [{ type: 'gh_ci', pr: { from: 'work' } }, { type: 'gh_review', team: 'core' }] });

    // Results of a gate passed by a signal and of an approved review.
    await activateReadyTasks(database.db);
    const passed = await call(app, 'POST', `/api/tasks/${byKey.person!.id}/signal`, { status: 'pass', summary: 'looked fine' });
    expect(passed.status, passed.text).toBe(200);
    const approved = await call(app, 'POST', `/api/tasks/${byKey.review!.id}/approve`, { comment: 'ship it' });
    expect(approved.status, approved.text).toBe(200);
    for (const answer of [passed, approved]) expect(() => TaskSchema.parse(answer.json.task)).not.toThrow();
    expect(passed.json.task.result).toMatchObject({ summary: 'looked fine', signal_ids: [expect.any(String)] });
    expect(approved.json.task.result).toMatchObject({ approved: true, comment: 'ship it' });
  });
});

it('has client/arbor-api.d.ts generated from the current app (else: npm run generate:client)', async () => {
  const committed = await readFile(API_TYPES_FILE, 'utf8');
  const current = await generateApiTypes();
  // A plain equality would print 3000 lines; the message says what to do.
  expect(committed === current, 'client/arbor-api.d.ts differs from what the app generates now: run `npm run generate:client` and commit it').toBe(true);
});
