/**
 * A pull request an agent reports: the URL of its page on a forge
 * (`https://<host>/<owner>/<repo>/pull/<n>`), and optionally the commit it was
 * opened at. Pure.
 */

export interface PullRequest {
  url: string;
  head_sha?: string;
  repo: string;
  number: number;
}

const PULL_PATH = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/pull\/([1-9][0-9]{0,9})\/?$/;
const SHA = /^[0-9a-f]{7,64}$/i;

export function parsePullRequest(url: string, headSha?: string): { ok: true; pullRequest: PullRequest } | { ok: false; error: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: 'url is not a URL' };
  }
  const path = PULL_PATH.exec(parsed.pathname);
  if (parsed.protocol !== 'https:' || !path || parsed.username || parsed.password || parsed.search || parsed.hash) {
    return { ok: false, error: 'url must be a pull request page: https://<host>/<owner>/<repo>/pull/<number>' };
  }
  if (headSha !== undefined && !SHA.test(headSha)) return { ok: false, error: 'head_sha must be a hexadecimal commit id' };
  const [, owner, repo, number] = path;
  return {
    ok: true,
    pullRequest: {
      url: `https://${parsed.host}/${owner}/${repo}/pull/${number}`,
      ...(headSha !== undefined ? { head_sha: headSha.toLowerCase() } : {}),
      repo: `${owner}/${repo}`,
      number: Number(number),
    },
  };
}
