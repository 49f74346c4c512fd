import { sql } from 'kysely';
import type { Db } from '../server/db/database.js';
import { note, seconds } from './output.js';

/**
 * Fills the database with finished work, as a long-lived installation has:
 * `total` succeeded tasks in goals of `perGoal`, written set-based by
 * Postgres itself (the API would take minutes for a million rows, and how the
 * rows got there does not matter to what is measured afterwards). Every NOT
 * NULL column is filled with what a real finished task carries.
 */
export async function seedHistory(db: Db, total: number, perGoal: number): Promise<void> {
  const started = performance.now();
  let inserted = 0;
  for (let goal = 0; inserted < total; goal++) {
    const size = Math.min(perGoal, total - inserted);
    // One goal and its tasks per statement: a million rows in one statement would
    // hold one huge transaction and give no progress to show.
    await sql`
      WITH g AS (
        INSERT INTO goals (id, title, repo, base_ref, agent, children_mode, status, max_parallel,
                           created_at, updated_at, started_at, finished_at)
        VALUES (gen_random_uuid(), ${`history ${goal}`}, '/tmp/arbor-bench-repo', 'HEAD', 'claude', 'parallel',
                'succeeded', 8, now() - interval '30 days', now() - interval '29 days',
                now() - interval '30 days', now() - interval '29 days')
        RETURNING id, created_at
      )
      INSERT INTO tasks (id, goal_id, key, ordinal, position, depth, title, instructions, kind, session_policy,
                         route, children_mode, status, attempt, max_attempts, unmet_deps, result,
                         created_at, updated_at, started_at, finished_at)
      SELECT gen_random_uuid(), g.id, 'h-' || i, i, i, 0, 'history task ' || i, 'done long ago', 'agent', 'auto',
             'spawned', 'sequential', 'succeeded', 1, 2, 0, '{"summary": "done"}'::jsonb,
             g.created_at, g.created_at + interval '1 day', g.created_at, g.created_at + interval '1 day'
      FROM g CROSS JOIN generate_series(0, ${size - 1}::int) AS i`.execute(db);
    inserted += size;
    if (goal % 10 === 9 || inserted === total) note(`history: ${inserted} tasks stored`);
  }
  // What a database that grew this way would have: fresh statistics, no dead tuples, a visibility map.
  await sql`VACUUM ANALYZE`.execute(db);
  await checkpoint(db);
  const { rows } = await sql<{ tasks: string; size: string }>`
    SELECT count(*) AS tasks, pg_size_pretty(pg_total_relation_size('tasks')) AS size FROM tasks`.execute(db);
  note(`history: ${rows[0]!.tasks} tasks in the table (${rows[0]!.size} with indexes), seeded and vacuumed in ${seconds(performance.now() - started)}`);
}

/**
 * Writes out dirty pages now, so that a checkpoint forced by the bulk load's
 * WAL does not land inside the next measurement. Needs superuser or
 * pg_checkpoint; without them the measurement just runs without it.
 */
export async function checkpoint(db: Db): Promise<void> {
  try {
    await sql`CHECKPOINT`.execute(db);
  } catch (err) {
    note(`checkpoint skipped: ${(err as Error).message}`);
  }
}
