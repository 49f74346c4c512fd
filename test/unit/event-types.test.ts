import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { EventTypeSchema } from '../../server/http/events/events.schemas.js';
import { EVENT_TYPES } from '../../server/domain/event-types.js';
import { REPO_ROOT } from '../support/server-process.js';

/**
 * The event types the OpenAPI document enumerates (the SSE `event:` names) are
 * the ones the code writes: every `type: '<aggregate>.<change>'` in server/
 * is in the enum, and every member of the enum is written somewhere.
 */

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))),
  );
  return nested.flat();
}

it('enumerates exactly the event types the server writes', async () => {
  const written = new Map<string, string>();
  const declaration = path.join(REPO_ROOT, 'server/store/events.ts');
  for (const file of await sourceFiles(path.join(REPO_ROOT, 'server'))) {
    if (file === declaration) continue;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      // `type: 'task.status_changed'`, also `type: ended ? 'session.ended' : 'session.idle'`.
      if (!/\btype:/.test(line)) continue;
      for (const match of line.matchAll(/'((?:goal|task|session|signal)\.[a-z_]+)'/g)) written.set(match[1]!, path.relative(REPO_ROOT, file));
    }
  }
  const schemaExample = written.get('task.status_changed');
  expect(schemaExample, 'the scan finds the most common event type').toBeDefined();
  const unlisted = [...written.keys()].filter((type) => !(EVENT_TYPES as readonly string[]).includes(type));
  expect(unlisted, `written but missing from EVENT_TYPES: ${unlisted.map((t) => `${t} (${written.get(t)})`).join(', ')}`).toEqual([]);
  const neverWritten = EVENT_TYPES.filter((type) => !written.has(type));
  expect(neverWritten, 'in EVENT_TYPES but written nowhere').toEqual([]);
  expect(EventTypeSchema.options).toEqual([...EVENT_TYPES]);
});
