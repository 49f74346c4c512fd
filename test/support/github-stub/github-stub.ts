import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gitEnv } from '../git-repo.js';

/**
 * A local stand-in for the part of GitHub's REST API Arbor uses: pull
 * requests (get, list by head, create, update), check runs and check suites
 * per commit, the combined status. A real HTTP server, driven by the real
 * Octokit client; each test scripts its state and reads back what was asked.
 */

export interface StubCheckRun {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
  title?: string;
  /** The app or workflow the run belongs to: runs of one app form one check suite. */
  app?: string;
}

export interface StubStatus {
  context: string;
  state: 'success' | 'failure' | 'error' | 'pending';
  description?: string;
}

interface StubPull {
  number: number;
  title: string;
  body: string | null;
  draft: boolean;
  state: 'open' | 'closed';
  head: { ref: string; sha: string };
  base: { ref: string };
}

interface StubRepo {
  branches: Map<string, string>;
  /** A bare git repository standing in for the remote: its branches are the repository's branches. */
  remote?: string;
  pulls: Map<number, StubPull>;
  runs: Map<string, StubCheckRun[]>;
  statuses: Map<string, StubStatus[]>;
}

export interface StubRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export class GithubStub {
  readonly requests: StubRequest[] = [];
  private readonly repos = new Map<string, StubRepo>();
  private server: Server | null = null;
  private nextNumber = 1;
  url = '';

  constructor(readonly token: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A branch on the remote at a commit (what a push would leave); moves the head of its open pull requests. */
  pushBranch(repo: string, branch: string, sha: string): void {
    const r = this.repo(repo);
    r.branches.set(branch, sha);
    for (const pull of r.pulls.values()) if (pull.state === 'open' && pull.head.ref === branch) pull.head.sha = sha;
  }

  /**
   * Backs `repo`'s branches with a bare git repository: what is pushed there
   * is on "GitHub", and an open pull request's head follows its branch there.
   */
  linkRemote(repo: string, bareDir: string): void {
    this.repo(repo).remote = bareDir;
  }

  /** A pull request opened on the stub directly (as a person would), from a branch pushed before. */
  openPull(repo: string, branch: string, base = 'main'): number {
    const r = this.repo(repo);
    const sha = this.branchSha(r, branch);
    if (!sha) throw new Error(`branch ${branch} was never pushed to ${repo}`);
    const pull: StubPull = { number: this.nextNumber++, title: branch, body: null, draft: false, state: 'open', head: { ref: branch, sha }, base: { ref: base } };
    r.pulls.set(pull.number, pull);
    return pull.number;
  }

  /** Adds or replaces (by name) a check run of a commit. */
  setCheckRun(repo: string, sha: string, run: StubCheckRun): void {
    const runs = this.repo(repo).runs.get(sha) ?? [];
    this.repo(repo).runs.set(sha, [...runs.filter((r) => r.name !== run.name), run]);
  }

  setStatus(repo: string, sha: string, status: StubStatus): void {
    const statuses = this.repo(repo).statuses.get(sha) ?? [];
    this.repo(repo).statuses.set(sha, [...statuses.filter((s) => s.context !== status.context), status]);
  }

  pull(repo: string, number: number): StubPull | undefined {
    const r = this.repo(repo);
    const pull = r.pulls.get(number);
    if (pull) this.followRemote(r, pull);
    return pull;
  }

  pulls(repo: string): StubPull[] {
    const r = this.repo(repo);
    for (const pull of r.pulls.values()) this.followRemote(r, pull);
    return [...r.pulls.values()];
  }

  private branchSha(repo: StubRepo, branch: string): string | undefined {
    if (!repo.remote) return repo.branches.get(branch);
    try {
      return execFileSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { cwd: repo.remote, env: gitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** An open pull request's head is wherever its branch is on the remote now. */
  private followRemote(repo: StubRepo, pull: StubPull): void {
    if (!repo.remote || pull.state !== 'open') return;
    const sha = this.branchSha(repo, pull.head.ref);
    if (sha) pull.head.sha = sha;
  }

  private repo(fullName: string): StubRepo {
    const key = fullName.toLowerCase();
    let repo = this.repos.get(key);
    if (!repo) {
      repo = { branches: new Map(), pulls: new Map(), runs: new Map(), statuses: new Map() };
      this.repos.set(key, repo);
    }
    return repo;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? JSON.parse(raw) : undefined;
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization: req.headers.authorization, body });
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(data));
    };
    if (req.headers.authorization !== `token ${this.token}`) return send(401, { message: 'Bad credentials' });

    const match = /^\/repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(url.pathname);
    if (!match) return send(404, { message: 'Not Found' });
    const fullName = `${match[1]}/${match[2]}`;
    const repo = this.repo(fullName);
    const rest = match[3]!;
    const method = req.method;

    let m: RegExpExecArray | null;
    if (rest === 'pulls' && method === 'GET') {
      const head = url.searchParams.get('head');
      const state = url.searchParams.get('state') ?? 'open';
      for (const pull of repo.pulls.values()) this.followRemote(repo, pull);
      const listed = [...repo.pulls.values()].filter(
        (p) => (state === 'all' || p.state === state) && (!head || `${match[1]}:${p.head.ref}`.toLowerCase() === head.toLowerCase()),
      );
      return send(200, listed.map((p) => this.pullJson(fullName, p)));
    }
    if (rest === 'pulls' && method === 'POST') {
      const ref = String(body.head).split(':').pop()!;
      const sha = this.branchSha(repo, ref);
      if (!sha) return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
      if ([...repo.pulls.values()].some((p) => p.state === 'open' && p.head.ref === ref)) {
        return send(422, { message: `Validation Failed: A pull request already exists for ${body.head}.` });
      }
      const pull: StubPull = { number: this.nextNumber++, title: body.title, body: body.body ?? null, draft: !!body.draft, state: 'open', head: { ref, sha }, base: { ref: body.base } };
      repo.pulls.set(pull.number, pull);
      return send(201, this.pullJson(fullName, pull));
    }
    if ((m = /^pulls\/(\d+)$/.exec(rest))) {
      const pull = repo.pulls.get(Number(m[1]));
      if (!pull) return send(404, { message: 'Not Found' });
      this.followRemote(repo, pull);
      if (method === 'PATCH') {
        if (body.title !== undefined) pull.title = body.title;
        if (body.body !== undefined) pull.body = body.body;
        if (body.base !== undefined) pull.base.ref = body.base;
      }
      return send(200, this.pullJson(fullName, pull));
    }
    if ((m = /^commits\/([^/]+)\/check-runs$/.exec(rest)) && method === 'GET') {
      const runs = repo.runs.get(m[1]!.toLowerCase()) ?? [];
      return send(200, {
        total_count: runs.length,
        check_runs: runs.map((r, i) => ({
          id: i + 1,
          name: r.name,
          head_sha: m![1],
          status: r.status,
          conclusion: r.status === 'completed' ? (r.conclusion ?? 'success') : null,
          html_url: `https://github.com/${fullName}/runs/${i + 1}`,
          output: { title: r.title ?? null, summary: null },
          app: { slug: r.app ?? 'github-actions', name: r.app ?? 'GitHub Actions' },
        })),
      });
    }
    if ((m = /^commits\/([^/]+)\/check-suites$/.exec(rest)) && method === 'GET') {
      const runs = repo.runs.get(m[1]!.toLowerCase()) ?? [];
      const apps = [...new Set(runs.map((r) => r.app ?? 'github-actions'))];
      const suites = apps.map((app, i) => {
        const own = runs.filter((r) => (r.app ?? 'github-actions') === app);
        const done = own.every((r) => r.status === 'completed');
        const failed = own.some((r) => r.status === 'completed' && r.conclusion !== 'success' && r.conclusion !== 'neutral' && r.conclusion !== 'skipped');
        return { id: i + 1, head_sha: m![1], app: { slug: app, name: app }, status: done ? 'completed' : 'in_progress', conclusion: done ? (failed ? 'failure' : 'success') : null };
      });
      return send(200, { total_count: suites.length, check_suites: suites });
    }
    if ((m = /^commits\/([^/]+)\/status$/.exec(rest)) && method === 'GET') {
      const statuses = repo.statuses.get(m[1]!.toLowerCase()) ?? [];
      const state = statuses.some((s) => s.state === 'failure' || s.state === 'error') ? 'failure' : statuses.every((s) => s.state === 'success') ? 'success' : 'pending';
      return send(200, {
        state,
        sha: m[1],
        total_count: statuses.length,
        statuses: statuses.map((s, i) => ({ id: i + 1, context: s.context, state: s.state, description: s.description ?? null, target_url: null })),
      });
    }
    return send(404, { message: 'Not Found' });
  }

  private pullJson(fullName: string, pull: StubPull) {
    return {
      number: pull.number,
      state: pull.state,
      title: pull.title,
      body: pull.body,
      draft: pull.draft,
      html_url: `https://github.com/${fullName}/pull/${pull.number}`,
      head: { ref: pull.head.ref, sha: pull.head.sha, label: `${fullName.split('/')[0]}:${pull.head.ref}` },
      base: { ref: pull.base.ref },
    };
  }
}
