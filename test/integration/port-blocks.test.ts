import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerInstance, removeInstances } from '../../server/store/instances.js';
import { portSlotCount, releasePortBlock, releasePortBlocksOf, takePortBlock } from '../../server/store/port-blocks.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.destroy());

const settings = { base: 20_000, perSession: 10 };

/** An instance registered on `host`, as a running Arbor is. */
async function instance(host: string, pid: number) {
  const id = `instance-${randomUUID()}`;
  await registerInstance(database.db, { id, host, pid, pidStartedAt: null });
  return { id, pid };
}

describe('port blocks per host, across instances', () => {
  it('two instances on one host never get the same block, also when they ask at the same moment', async () => {
    const host = `host-${randomUUID()}`;
    const [a, b] = [await instance(host, 1), await instance(host, 2)];
    const taken = await Promise.all(
      Array.from({ length: 30 }, (_, i) => takePortBlock(database.db, settings, { host, owner: i % 2 === 0 ? a.id : b.id, sessionId: `s${i}` })),
    );
    const slots = taken.map((block) => block!.slot);
    expect(new Set(slots).size).toBe(30);
    expect([...slots].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const block of taken) expect(block!.base).toBe(settings.base + block!.slot * settings.perSession);

    // Another host has blocks of its own.
    const otherHost = `other-${randomUUID()}`;
    const elsewhere = await instance(otherHost, 1);
    expect(await takePortBlock(database.db, settings, { host: otherHost, owner: elsewhere.id })).toMatchObject({ slot: 0 });

    // A released block is the next one handed out.
    const owners = taken.map((block, i) => ({ slot: block!.slot, owner: i % 2 === 0 ? a.id : b.id }));
    const seventh = owners.find((o) => o.slot === 7)!;
    // Only its owner releases it.
    await releasePortBlock(database.db, { host, slot: 7, owner: seventh.owner === a.id ? b.id : a.id });
    expect(await takePortBlock(database.db, settings, { host, owner: a.id })).toMatchObject({ slot: 30 });
    await releasePortBlock(database.db, { host, slot: 7, owner: seventh.owner });
    expect(await takePortBlock(database.db, settings, { host, owner: a.id })).toMatchObject({ slot: 7 });
  });

  it('the blocks of an instance that died are handed out again; a live one keeps its own', async () => {
    const host = `host-${randomUUID()}`;
    const [dead, live] = [await instance(host, 10), await instance(host, 11)];
    const deadBlocks = [await takePortBlock(database.db, settings, { host, owner: dead.id }), await takePortBlock(database.db, settings, { host, owner: dead.id })];
    const liveBlock = await takePortBlock(database.db, settings, { host, owner: live.id });
    expect(deadBlocks.map((b) => b!.slot)).toEqual([0, 1]);
    expect(liveBlock!.slot).toBe(2);

    // Its work was taken over: its registration is gone.
    await removeInstances(database.db, [dead]);
    const reused = [await takePortBlock(database.db, settings, { host, owner: live.id }), await takePortBlock(database.db, settings, { host, owner: live.id })];
    expect(reused.map((b) => b!.slot)).toEqual([0, 1]);
    expect(await takePortBlock(database.db, settings, { host, owner: live.id })).toMatchObject({ slot: 3 });
  });

  it('none is handed out when every slot is held, and an instance starting again frees its own', async () => {
    const host = `host-${randomUUID()}`;
    const small = { base: 65_510, perSession: 10 };
    expect(portSlotCount(small)).toBe(2);
    const owner = await instance(host, 20);
    expect(await takePortBlock(database.db, small, { host, owner: owner.id })).toMatchObject({ slot: 0, base: 65_510, count: 10 });
    expect(await takePortBlock(database.db, small, { host, owner: owner.id })).toMatchObject({ slot: 1, base: 65_520 });
    expect(await takePortBlock(database.db, small, { host, owner: owner.id })).toBeNull();
    expect(await releasePortBlocksOf(database.db, owner.id)).toBe(2);
    expect(await takePortBlock(database.db, small, { host, owner: owner.id })).toMatchObject({ slot: 0 });
  });
});
