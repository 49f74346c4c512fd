/**
 * Runs tasks one at a time per key (a repository's common git dir), in the
 * order they were queued. Git keeps worktree, ref and index state in files it
 * guards with `.lock` files and does not wait for: two `git worktree add` on
 * one repository at once can fail outright. Different repositories still run
 * in parallel.
 */
export class KeyedQueue {
  /** The last queued task per key; it never rejects, so a failure does not stall the queue. */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // Forget idle keys so the map does not grow with every repository ever seen.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
