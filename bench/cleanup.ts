import { note } from './output.js';

/**
 * Undo steps, run newest first: whatever was set up before a failure (or a
 * Ctrl-C) is taken down, and nothing that was never set up is touched. Each
 * step runs once even if `run` is called twice (a signal during cleanup).
 */
export class Cleanup {
  private readonly steps: { label: string; undo: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;

  /**
   * Registers an undo step. The returned function runs it now and takes it off
   * the list: for things (an orchestrator) that are normally torn down before
   * the end, but must still be torn down if a Ctrl-C comes first.
   */
  add(label: string, undo: () => Promise<void>): () => Promise<void> {
    const step = { label, undo };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index === -1) return;
      this.steps.splice(index, 1);
      await undo();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (err) {
          // Keep going: a failed step must not leave the later ones (stopping Postgres) undone.
          note(`cleanup: ${step.label} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}
