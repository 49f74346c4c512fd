import { describe, expect, it } from 'vitest';
import { checkSchedule, dueSlot, nextSlot } from '../../server/triggers/cron-slots.js';

const at = (iso: string) => new Date(iso);
const LONG_AGO = at('2020-01-01T00:00:00Z');

describe('dueSlot', () => {
  it('is the latest slot at or before now, a slot at exactly now included', () => {
    expect(dueSlot('*/15 * * * *', 'UTC', at('2026-05-04T10:14:59Z'), LONG_AGO)).toEqual(at('2026-05-04T10:00:00Z'));
    expect(dueSlot('*/15 * * * *', 'UTC', at('2026-05-04T10:15:00Z'), LONG_AGO)).toEqual(at('2026-05-04T10:15:00Z'));
  });

  it('after downtime is only the latest missed slot, not each of them', () => {
    expect(dueSlot('0 * * * *', 'UTC', at('2026-05-04T17:30:00Z'), at('2026-05-04T09:10:00Z'))).toEqual(at('2026-05-04T17:00:00Z'));
  });

  it('is none before the first slot after the trigger was made', () => {
    expect(dueSlot('0 9 * * *', 'UTC', at('2026-05-04T12:00:00Z'), at('2026-05-04T10:00:00Z'))).toBeNull();
    expect(dueSlot('0 9 * * *', 'UTC', at('2026-05-05T09:00:00Z'), at('2026-05-04T10:00:00Z'))).toEqual(at('2026-05-05T09:00:00Z'));
  });

  it('reads the cron in its time zone, across a daylight saving change', () => {
    // 09:00 in Berlin: 08:00 UTC in winter time, 07:00 UTC once summer time began (29 March 2026).
    expect(dueSlot('0 9 * * *', 'Europe/Berlin', at('2026-03-28T12:00:00Z'), LONG_AGO)).toEqual(at('2026-03-28T08:00:00Z'));
    expect(dueSlot('0 9 * * *', 'Europe/Berlin', at('2026-03-30T12:00:00Z'), LONG_AGO)).toEqual(at('2026-03-30T07:00:00Z'));
    expect(dueSlot('0 9 * * 1-5', 'America/New_York', at('2026-05-10T23:00:00Z'), LONG_AGO)).toEqual(at('2026-05-08T13:00:00Z'));
  });

  it('gives the next slot after a time', () => {
    expect(nextSlot('30 2 * * *', 'UTC', at('2026-05-04T02:30:00Z'))).toEqual(at('2026-05-05T02:30:00Z'));
  });
});

describe('checkSchedule', () => {
  it('takes a valid cron and time zone', () => {
    expect(checkSchedule('0 9 * * 1-5', 'Europe/Berlin')).toEqual({ ok: true });
  });

  it('refuses a malformed cron, an unknown time zone and a date that never comes', () => {
    for (const [cron, zone] of [['0 9 * *', 'UTC'], ['61 * * * *', 'UTC'], ['0 9 * * *', 'Mars/Base'], ['0 0 30 2 *', 'UTC']] as const) {
      const result = checkSchedule(cron, zone);
      expect(result.ok, `${cron} ${zone}`).toBe(false);
    }
  });
});
