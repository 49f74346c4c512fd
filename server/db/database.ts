import pg from 'pg';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import type { Logger } from '../logger.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

// bigint (count(*), identity ids) stays a string: JavaScript numbers would lose
// precision past 2^53 and the API serializes ids as strings anyway.

export interface DbHandle {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function connectDatabase(connectionString: string, options: { poolSize: number; logger: Logger }): DbHandle {
  const pool = new pg.Pool({ connectionString, max: options.poolSize, application_name: 'arbor' });
  // An idle client losing its server (a restart, `57P01` at shutdown) emits on
  // the pool; unhandled, that event would crash the process.
  pool.on('error', (err) => options.logger.warn({ err: err.message }, 'idle database connection lost'));
  // A client checked out between two queries (inside a transaction) has no
  // pool listener: its server going away would be an unhandled 'error' event.
  // The query waiting on it fails on its own; this only keeps the process up.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [
      // Only column names: the keys inside jsonb (gates, metadata) are the user's and stay as written.
      new CamelCasePlugin({ maintainNestedObjectKeys: true }),
    ] });
  return { db, pool, close: () => db.destroy() };
}
