import { expect, it } from 'vitest';
import { connectDatabase } from '../../server/db/database.js';
import { createLogger } from '../../server/logger.js';
import { createTestDatabase } from '../support/database.js';
import { call, testApp } from '../support/app.js';

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
