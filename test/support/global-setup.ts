import type { TestProject } from 'vitest/node';
import { startTestPostgres, type TestPostgres } from './postgres.js';

/**
 * Once per run: find a Postgres (DATABASE_URL, else a testcontainer when a
 * container runtime answers, else an embedded one), migrate a template
 * database, and hand its name to the test files, which each clone their own.
 */

let postgres: TestPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  postgres = await startTestPostgres();
  project.provide('postgresUrl', postgres.adminUrl);
  project.provide('templateDatabase', postgres.templateDatabase);
  console.log(`tests use ${postgres.description}`);
}

export async function teardown(): Promise<void> {
  await postgres?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    templateDatabase: string;
  }
}
