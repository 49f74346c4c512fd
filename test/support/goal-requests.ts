/**
 * Goals as the e2e tests post them to a running server.
 */

export interface PostedGoal {
  goal: { id: string; branch: string | null };
  tasks: { id: string; key: string }[];
}

/** POST /api/goals; fails the test with the answer unless it is 201. */
export async function postGoal(serverUrl: string, body: Record<string, unknown>): Promise<PostedGoal> {
  const res = await fetch(`${serverUrl}/api/goals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /api/goals answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PostedGoal;
}

/** A goal of `count` spawned tasks `t0`, `t1`, ... that all run at once. */
export function parallelGoal(repo: string, count: number, title: string, task: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title,
    repo,
    base_ref: 'main',
    children_mode: 'parallel',
    max_parallel: count,
    tasks: Array.from({ length: count }, (_, i) => ({ key: `t${i}`, title: `t${i}`, session_policy: 'spawn', ...task })),
  };
}
