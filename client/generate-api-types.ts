import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { loadConfig } from '../server/config.js';
import { connectDatabase } from '../server/db/database.js';
import { createApp } from '../server/http/app.js';
import { createLogger } from '../server/logger.js';

/**
 * The build step of the typed client (`npm run generate:client`): Arbor's own
 * OpenAPI document, as the app serves it, turned into `client/arbor-api.d.ts`
 * by openapi-typescript. The only file of client/ that reaches into server/;
 * the client itself imports nothing from it. The drift test
 * (test/unit/client-types.test.ts) compares the committed file with what this
 * makes now.
 */

export const API_TYPES_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'arbor-api.d.ts');

/** The document of an app with the default settings, built in process: no server, no database query. */
export async function openApiDocument(): Promise<OpenAPI3> {
  // Building the document runs no query; the pool is never connected.
  const database = connectDatabase('postgres://127.0.0.1:1/unused', { poolSize: 1, logger: createLogger('silent') });
  try {
    const app = createApp({ db: database.db, logger: createLogger('silent'), config: loadConfig({}) });
    const res = await app.request('/openapi.json');
    if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as OpenAPI3;
  } finally {
    await database.close();
  }
}

export async function generateApiTypes(): Promise<string> {
  return astToString(await openapiTS(await openApiDocument()));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(API_TYPES_FILE, await generateApiTypes());
  console.log(`wrote ${path.relative(process.cwd(), API_TYPES_FILE)}`);
}
