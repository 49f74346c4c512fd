import { followEvents, ok, type Goal, type Task } from '../client/arbor-client.js';
import type { CliContext } from './context.js';
import { colourStatus, renderGoalHeader, renderGoalTree } from './goal-tree.js';
import { fitWidth } from './table.js';

/**
 * `arbor watch <goal>`: the goal's tree, redrawn as its events arrive, until
 * the goal ends. Events only say "look again": each burst of them is answered
 * by reading the goal, so what is drawn is always the server's own view, new
 * subtasks included. On a terminal the tree is redrawn in place; otherwise
 * each change is one plain line. Exit 0 when the goal succeeded, 1 when it
 * failed or was cancelled.
 */

const ENDED: readonly Goal['status'][] = ['succeeded', 'failed', 'cancelled'];

interface Snapshot {
  goal: Goal;
  tasks: Task[];
}

export async function watchGoal(ctx: CliContext): Promise<number> {
  const id = ctx.args.goal!;
  const read = () => ok(ctx.client.api.GET('/api/goals/{id}', { params: { path: { id } } }));
  const view = ctx.out.isTTY ? liveView(ctx) : plainView(ctx);
  let snapshot: Snapshot = await read();
  view.show(snapshot);

  const stop = new AbortController();
  let dirty = false;
  let streamDone = false;
  let wake: () => void = () => {};
  // The loop below ends the watch; a stream failure surfaces through `failed`, set before the
  // loop is woken (a `.catch` on the consumer would run only after the wake, too late to be seen).
  let failed: unknown = null;
  const consumer = (async () => {
    try {
      for await (const _ of followEvents(ctx.client, { goalId: id, signal: stop.signal })) {
        dirty = true;
        wake();
      }
    } catch (err) {
      failed = err;
    } finally {
      streamDone = true;
      wake();
    }
  })();

  try {
    while (!ENDED.includes(snapshot.goal.status)) {
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
      if (failed) throw failed;
      if (!dirty && streamDone) throw new Error('the event stream ended before the goal did');
      dirty = false;
      snapshot = await read();
      view.show(snapshot);
    }
  } finally {
    stop.abort();
    await consumer;
  }
  view.end(snapshot);
  if (snapshot.goal.status === 'succeeded') return 0;
  ctx.err(`goal ${snapshot.goal.id} ${snapshot.goal.status}`);
  return 1;
}

interface View {
  show(snapshot: Snapshot): void;
  end(snapshot: Snapshot): void;
}

function draw(ctx: CliContext, { goal, tasks }: Snapshot): string[] {
  return [renderGoalHeader(goal, tasks, { colour: true }), ...renderGoalTree(tasks, { colour: true, goalMode: goal.children_mode })].map((line) =>
    fitWidth(line, ctx.out.columns),
  );
}

/** Redrawn in place: the cursor goes back up over the last drawing, which is then cleared. */
function liveView(ctx: CliContext): View {
  let drawn = 0;
  const redraw = (lines: string[]) => {
    ctx.out.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  return {
    show: (snapshot) => redraw([...draw(ctx, snapshot), '', '\x1b[2mwatching; Ctrl-C stops watching (the goal goes on)\x1b[0m']),
    end: (snapshot) => redraw(draw(ctx, snapshot)),
  };
}

/** One line per change, for logs and pipes: the tree once, then `time key: from -> to`. */
function plainView(ctx: CliContext): View {
  let last: Snapshot | null = null;
  const line = (text: string) => ctx.out.write(`${ctx.now().toISOString().slice(11, 19)} ${text}\n`);
  return {
    show(snapshot) {
      if (!last) {
        const { goal, tasks } = snapshot;
        ctx.out.write(`${[renderGoalHeader(goal, tasks, { colour: false }), ...renderGoalTree(tasks, { colour: false, goalMode: goal.children_mode })].join('\n')}\n`);
      } else {
        for (const change of describeChanges(last, snapshot)) line(change);
      }
      last = snapshot;
    },
    end(snapshot) {
      line(`goal ${snapshot.goal.status}: ${renderGoalHeader(snapshot.goal, snapshot.tasks, { colour: false })}`);
    },
  };
}

/** What changed between two readings of a goal, in tree order; pure. */
export function describeChanges(before: Snapshot, after: Snapshot): string[] {
  const old = new Map(before.tasks.map((t) => [t.id, t]));
  const changes: string[] = [];
  for (const task of after.tasks) {
    const was = old.get(task.id);
    if (!was) changes.push(`${task.key}: added (${task.status})`);
    else if (was.status === task.status && was.attempt !== task.attempt) {
      // It ran again between two readings and is back where it was.
      changes.push(`${task.key}: ran attempt ${task.attempt}, ${task.status}`);
    } else if (was.status !== task.status) {
      const attempt = task.attempt > 1 && task.status === 'running' ? ` (attempt ${task.attempt})` : '';
      const error = task.error && (task.status === 'failed' || task.status === 'blocked') ? `: ${task.error.split('\n')[0]}` : '';
      changes.push(`${task.key}: ${was.status} -> ${colourStatus(task.status, task.status, false)}${attempt}${error}`);
    }
  }
  if (before.goal.status !== after.goal.status && !ENDED.includes(after.goal.status)) {
    changes.push(`goal: ${before.goal.status} -> ${after.goal.status}`);
  }
  return changes;
}
