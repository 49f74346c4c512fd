import { Cron } from 'croner';

/**
 * Which slot of a cron schedule is due. A slot is the instant the schedule
 * names, in its time zone; its ISO form is the key a start is claimed under.
 * After downtime only the latest missed slot starts a goal: a schedule that
 * was away for a week does not start seven goals at once.
 */

export type ScheduleCheck = { ok: true } | { ok: false; message: string };

export function checkSchedule(cron: string, timeZone: string): ScheduleCheck {
  try {
    // A schedule that names no future instant ("30 2 30 2 *": 30 February) would never start anything.
    const next = new Cron(cron, { timezone: timeZone, paused: true }).nextRun();
    if (!next) return { ok: false, message: `cron "${cron}" never runs` };
    return { ok: true };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/**
 * The latest slot at or before `now` that falls after `since` (a trigger's
 * creation: slots before it are not its own), or null when there is none.
 */
export function dueSlot(cron: string, timeZone: string, now: Date, since: Date): Date | null {
  const schedule = new Cron(cron, { timezone: timeZone, paused: true });
  // previousRuns looks strictly before its reference: one millisecond on, a slot at exactly `now` is due.
  const [latest] = schedule.previousRuns(1, new Date(now.getTime() + 1));
  return latest && latest.getTime() > since.getTime() ? latest : null;
}

export function nextSlot(cron: string, timeZone: string, after: Date): Date | null {
  return new Cron(cron, { timezone: timeZone, paused: true }).nextRun(after);
}
