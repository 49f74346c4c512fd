import { expect, it } from 'vitest';
import { runShutdownSteps } from '../../server/shutdown-steps.js';

it('runs every step whatever the ones before did, and reports the failures instead of throwing', async () => {
  const ran: string[] = [];
  const failures = await runShutdownSteps([
    { name: 'rejects', run: async () => { ran.push('rejects'); throw new Error('database gone'); } },
    { name: 'throws', run: () => { ran.push('throws'); throw new Error('not even a promise'); } },
    { name: 'hangs', run: () => { ran.push('hangs'); return new Promise(() => {}); }, deadlineMs: 20 },
    { name: 'stops postgres', run: async () => { ran.push('stops postgres'); } },
  ]);
  expect(ran).toEqual(['rejects', 'throws', 'hangs', 'stops postgres']);
  expect(failures.map((f) => [f.step, f.error.message])).toEqual([
    ['rejects', 'database gone'],
    ['throws', 'not even a promise'],
    ['hangs', 'hangs did not finish within 20 ms'],
  ]);
});
