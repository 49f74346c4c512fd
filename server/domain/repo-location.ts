/**
 * What a goal's `repo` names: a git remote (a URL, or ssh's `user@host:path`
 * form) or a repository on this machine's disk. The forms are git's own, read
 * the way git reads them, so that the string Arbor classifies is the one git
 * will act on.
 */

export type RepoLocation =
  | { kind: 'remote'; url: string; transport: RemoteTransport }
  | { kind: 'path'; path: string }
  | { kind: 'refused'; reason: string };

export type RemoteTransport = 'https' | 'http' | 'ssh' | 'git' | 'file';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const TRANSPORTS: Readonly<Record<string, RemoteTransport>> = {
  https: 'https',
  http: 'http',
  ssh: 'ssh',
  'git+ssh': 'ssh',
  'ssh+git': 'ssh',
  git: 'git',
  file: 'file',
};

export function classifyRepo(repo: string): RepoLocation {
  const text = repo.trim();
  if (text === '') return { kind: 'refused', reason: 'repo is empty' };
  // A value git could read as an option (`--upload-pack=...`), or one carrying a line break, is never passed on.
  if (text.startsWith('-') || /[\0\r\n]/.test(text)) return { kind: 'refused', reason: 'repo is not a path or a git URL' };

  const scheme = SCHEME.exec(text);
  if (scheme) {
    const transport = TRANSPORTS[scheme[1]!.toLowerCase()];
    if (!transport) return { kind: 'refused', reason: `repo URL scheme "${scheme[1]}" is not supported (use https, ssh, git or file)` };
    const rest = text.slice(scheme[0].length);
    if (transport !== 'file' && hostOf(rest).startsWith('-')) return { kind: 'refused', reason: 'repo URL has no valid host' };
    if (transport !== 'file' && hostOf(rest) === '') return { kind: 'refused', reason: 'repo URL has no host' };
    return { kind: 'remote', url: text, transport };
  }
  // `<transport>::<address>` runs a remote helper, `ext::` any command: never accepted from a request.
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(text)) return { kind: 'refused', reason: 'repo remote-helper addresses (`x::...`) are not supported' };

  // git's rule: a colon before the first slash makes it ssh's scp-like form (`git@host:org/repo.git`).
  const colon = text.indexOf(':');
  const slash = text.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) {
    const host = text.slice(text.lastIndexOf('@', colon) + 1, colon);
    if (host === '' || host.startsWith('-')) return { kind: 'refused', reason: 'repo has no valid host before ":"' };
    return { kind: 'remote', url: text, transport: 'ssh' };
  }
  return { kind: 'path', path: text };
}

function hostOf(afterScheme: string): string {
  const authority = afterScheme.split('/')[0] ?? '';
  return authority.slice(authority.lastIndexOf('@') + 1);
}

/**
 * Text with the credentials of every URL in it hidden (`https://user:token@host`
 * -> `https://***@host`), for logs and error messages: git repeats the remote's
 * URL in what it prints.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s'"]+@/g, '$1***@');
}
