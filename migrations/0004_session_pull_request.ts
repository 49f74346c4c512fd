import { sql, type Kysely } from 'kysely';

/**
 * The pull request an agent reports for its run. Kept apart from `reported`
 * (the agent's complete/block word, which a later report replaces) so that
 * reporting a pull request and then completing keeps both. The value names the
 * task and attempt it was reported for: a pinned session's next run never
 * inherits the previous run's pull request.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sessions ADD COLUMN pull_request jsonb`.execute(db);
}
