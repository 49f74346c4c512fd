import { expect, it } from 'vitest';
import { connectDatabase } from '../../server/db/database.js';
import { createApp } from '../../server/http/app.js';
import { createLogger } from '../../server/logger.js';
import { createTestDatabase } from '../support/database.js';
import { call, testApp, testConfig } from '../support/app.js';

it('readyz answers 503 with the error shape when the database does not answer, while healthz stays up', async () => {
  const database = await createTestDatabase();
  try {
    const handle = connectDatabase(database.url, { poolSize: 1, logger: createLogger('silent') });
    const app = testApp(handle.db);
    expect((await call(app, 'GET', '/readyz')).status).toBe(200);
    await handle.close();
    const res = await call(app, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: 'database unreachable', request_id: expect.any(String) });
    expect((await call(app, 'GET', '/healthz')).status).toBe(200);
  } finally {
    await database.destroy();
  }
});

it('healthz answers 503 while a part the process runs itself is down; readyz too, and while shutting down', async () => {
  const database = await createTestDatabase();
  try {
    let problem: string | null = 'embedded Postgres is restarting';
    const shutdown = new AbortController();
    const app = createApp({
      db: database.db,
      logger: createLogger('silent'),
      config: testConfig(),
      shutdown: shutdown.signal,
      healthProblem: () => problem,
    });
    const down = await call(app, 'GET', '/healthz');
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ error: 'embedded Postgres is restarting', request_id: expect.any(String) });
    expect((await call(app, 'GET', '/readyz')).status).toBe(503);

    problem = null;
    expect((await call(app, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call(app, 'GET', '/readyz')).status).toBe(200);

    shutdown.abort();
    const stopping = await call(app, 'GET', '/readyz');
    expect(stopping.status).toBe(503);
    expect(stopping.json).toMatchObject({ error: 'shutting down' });
  } finally {
    await database.destroy();
  }
});
