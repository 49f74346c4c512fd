/**
 * Stopping in steps where each one runs whatever the ones before did: a
 * database that is already gone must not keep Postgres running or the
 * process from exiting. A step may have a deadline, so nothing that hangs
 * holds the shutdown for ever.
 */

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
  /** Past this the step counts as failed and the next one starts (the step itself is not cancelled). */
  deadlineMs?: number;
}

export interface StepFailure {
  step: string;
  error: Error;
}

export async function runShutdownSteps(steps: ShutdownStep[]): Promise<StepFailure[]> {
  const failures: StepFailure[] = [];
  for (const step of steps) {
    try {
      await withDeadline(step);
    } catch (err) {
      failures.push({ step: step.name, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  return failures;
}

function withDeadline(step: ShutdownStep): Promise<unknown> {
  // Called inside a promise chain, so a step that throws synchronously is a failure like any other.
  const running = Promise.resolve().then(step.run);
  if (step.deadlineMs === undefined) return running;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step.name} did not finish within ${step.deadlineMs} ms`)), step.deadlineMs);
  });
  // A step that fails after its deadline has already been counted.
  running.catch(() => {});
  return Promise.race([running, late]).finally(() => clearTimeout(timer));
}
