import type { Db } from '../db/database.js';
import type { GateCondition } from '../domain/gate.js';
import { describeGithubError, type GithubClient } from '../github/github-client.js';
import type { Logger } from '../logger.js';
import { RepeatingTask } from '../repeating-task.js';
import { storedGate, waitingCiGates } from '../store/holds.js';
import { confirmCiSignal } from './ci-confirmation.js';
import { resolveSignal } from './resolver.js';

/**
 * A `gh_ci` gate that opens after CI has already finished hears no further
 * webhook: GitHub sent its check suites while the gate was not waiting yet
 * (or, with a token, those nudges found the gate's pull request still
 * running). So, with a token, every waiting `gh_ci` gate on a pull request
 * is checked once through the checks API soon after it opens — and again
 * after each rework re-arms it; a settled verdict is resolved as a webhook's
 * would be. Several instances may check the same gate: the signal's
 * idempotency key (gate, arming, head, verdict) applies it once.
 */

export interface OpeningCiCheckOptions {
  /** How often newly waiting gates are looked for. */
  intervalMs: number;
  /** After GitHub failed to answer about a gate, how long before it is asked again. */
  retryMs?: number;
  /** Most gates looked at per sweep, the most recently opened first. */
  batch?: number;
}

export class OpeningCiCheck {
  private readonly repeating: RepeatingTask;
  /** Per gate arming (`<task id>@<armed at>`): checked (`done`), or when to ask again after GitHub failed. */
  private readonly checked = new Map<string, 'done' | number>();

  constructor(
    private readonly deps: { db: Db; github: GithubClient; logger: Logger },
    private readonly options: OpeningCiCheckOptions,
  ) {
    this.repeating = new RepeatingTask(() => this.sweep(), options.intervalMs, deps.logger, 'opened CI gates: sweep');
  }

  /** Checks every waiting gate not checked since it was armed; returns how many it asked GitHub about. */
  async sweep(): Promise<number> {
    const gates = await waitingCiGates(this.deps.db, this.options.batch ?? 100);
    const current = new Set<string>();
    let asked = 0;
    for (const gate of gates) {
      const arming = `${gate.id}@${gate.gateArmedAt?.toISOString() ?? ''}`;
      current.add(arming);
      const state = this.checked.get(arming);
      if (state === 'done' || (typeof state === 'number' && state > Date.now())) continue;
      asked++;
      try {
        for (const pull of pullRequestsOf(storedGate(gate.gate).condition)) await this.confirm(arming, pull);
        this.checked.set(arming, 'done');
      } catch (err) {
        this.checked.set(arming, Date.now() + (this.options.retryMs ?? 60_000));
        this.deps.logger.warn({ taskId: gate.id, err: describeGithubError(err) }, 'the GitHub checks API did not answer about an opened CI gate');
      }
    }
    // Gates no longer waiting (or re-armed) need no memory.
    for (const arming of this.checked.keys()) if (!current.has(arming)) this.checked.delete(arming);
    return asked;
  }

  private async confirm(arming: string, pull: { repo: string; pr: number }): Promise<void> {
    const confirmation = await confirmCiSignal(this.deps.github, {
      type: 'gh_ci',
      attributes: pull,
      status: 'pass',
      artifacts: { reason: 'the gate opened' },
      idempotencyKey: `gate-opened:${arming}:${pull.repo}#${pull.pr}`,
    });
    if (confirmation.kind === 'pending') return;
    const result = await resolveSignal(this.deps.db, { ...confirmation.signal, source: 'github' });
    this.deps.logger.info({ ...pull, status: confirmation.signal.status, matched: result.matched }, 'CI already settled when its gate opened');
  }

  start(): void {
    this.repeating.start();
  }

  async stop(): Promise<void> {
    await this.repeating.stop();
  }
}

/** The pull requests the gate's `gh_ci` parts are about. */
function pullRequestsOf(condition: GateCondition): { repo: string; pr: number }[] {
  if ('all' in condition) return condition.all.flatMap(pullRequestsOf);
  if ('any' in condition) return condition.any.flatMap(pullRequestsOf);
  const { repo, pr } = condition.attributes;
  if (condition.type !== 'gh_ci' || condition.bind || repo === undefined || pr === undefined) return [];
  return [{ repo: String(repo), pr: Number(pr) }];
}
