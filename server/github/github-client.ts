import { Octokit } from '@octokit/rest';
import type { CheckRun, CommitStatus } from '../domain/ci-verdict.js';

/**
 * What Arbor asks of GitHub's REST API (or an Enterprise server's), through
 * Octokit: a pull request's head, the checks of a commit, opening or updating
 * a pull request. The token stays inside the client; errors carry GitHub's
 * status and message, never the token.
 */

export interface GithubSettings {
  apiUrl: string;
  token?: string;
}

export interface PullRequestHead {
  number: number;
  url: string;
  headSha: string;
  state: string;
}

export interface PullRequestRequest {
  repo: string;
  /** The branch with the work; `owner:branch` for a fork. */
  head: string;
  base: string;
  title: string;
  body?: string;
  draft?: boolean;
}

export interface GithubClient {
  pullRequestHead(repo: string, pr: number): Promise<PullRequestHead>;
  checksOf(repo: string, sha: string): Promise<{ runs: CheckRun[]; statuses: CommitStatus[] }>;
  /** Opens the pull request, or updates the open one whose head is this branch. */
  openOrUpdatePullRequest(request: PullRequestRequest): Promise<PullRequestHead & { created: boolean }>;
}

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/** The client, or null when no token is configured (Arbor then asks GitHub nothing). */
export function createGithubClient(settings: GithubSettings): GithubClient | null {
  if (!settings.token) return null;
  // Octokit would print failed requests to the console; callers report them through the logger.
  const octokit = new Octokit({ auth: settings.token, baseUrl: settings.apiUrl, userAgent: 'arbor', log: QUIET });
  return {
    async pullRequestHead(repo, pr) {
      const { data } = await octokit.rest.pulls.get({ ...split(repo), pull_number: pr });
      return { number: data.number, url: data.html_url, headSha: data.head.sha.toLowerCase(), state: data.state };
    },

    async checksOf(repo, sha) {
      const runs = await octokit.paginate(octokit.rest.checks.listForRef, { ...split(repo), ref: sha, filter: 'latest', per_page: 100 });
      const combined = await octokit.rest.repos.getCombinedStatusForRef({ ...split(repo), ref: sha, per_page: 100 });
      return {
        runs: runs.map((r) => ({ name: r.name, status: r.status, conclusion: r.conclusion ?? null, title: r.output?.title ?? null, url: r.html_url ?? null })),
        statuses: combined.data.statuses.map((s) => ({ context: s.context, state: s.state, description: s.description ?? null, url: s.target_url ?? null })),
      };
    },

    async openOrUpdatePullRequest(request) {
      const { owner, repo } = split(request.repo);
      const head = request.head.includes(':') ? request.head : `${owner}:${request.head}`;
      const open = await octokit.rest.pulls.list({ owner, repo, head, state: 'open', per_page: 1 });
      const existing = open.data[0];
      if (existing) {
        const { data } = await octokit.rest.pulls.update({
          owner,
          repo,
          pull_number: existing.number,
          title: request.title,
          base: request.base,
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        return { number: data.number, url: data.html_url, headSha: data.head.sha.toLowerCase(), state: data.state, created: false };
      }
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        head,
        base: request.base,
        title: request.title,
        ...(request.body !== undefined ? { body: request.body } : {}),
        draft: request.draft ?? false,
      });
      return { number: data.number, url: data.html_url, headSha: data.head.sha.toLowerCase(), state: data.state, created: true };
    },
  };
}

/** GitHub's status and message, without the request (whose headers carry the token). */
export function describeGithubError(err: unknown): string {
  if (err && typeof err === 'object' && 'status' in err) return `${String(err.status)} ${err instanceof Error ? err.message : ''}`.trim();
  return err instanceof Error ? err.message : String(err);
}

function split(repo: string): { owner: string; repo: string } {
  const [owner, name] = repo.split('/');
  if (!owner || !name) throw new Error(`repo must look like owner/name, not "${repo}"`);
  return { owner, repo: name };
}
