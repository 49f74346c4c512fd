import { describe, expect, it } from 'vitest';
import { classifyRepo, redactUrlCredentials } from '../../server/domain/repo-location.js';

describe('what a goal repo names', () => {
  it.each([
    ['https://github.com/acme/web.git', 'https'],
    ['http://git.local/acme/web', 'http'],
    ['ssh://git@github.com:22/acme/web.git', 'ssh'],
    ['git+ssh://git@host/acme/web', 'ssh'],
    ['git://host/acme/web', 'git'],
    ['file:///srv/git/web.git', 'file'],
    ['git@github.com:acme/web.git', 'ssh'],
    ['host:web.git', 'ssh'],
    ['HTTPS://Host/x', 'https'],
  ])('%s is a remote over %s', (repo, transport) => {
    expect(classifyRepo(repo)).toEqual({ kind: 'remote', url: repo, transport });
  });

  it.each(['/srv/repos/web', './web', 'web', '../a:b', '/path/with:colon'])('%s is a path on this machine', (repo) => {
    expect(classifyRepo(repo)).toEqual({ kind: 'path', path: repo });
  });

  it.each([
    ['', /empty/],
    ['--upload-pack=touch /tmp/x', /not a path or a git URL/],
    ['ext::sh -c touch% /tmp/pwned', /remote-helper/],
    ['fd::3', /remote-helper/],
    ['ftp://host/x', /scheme "ftp" is not supported/],
    ['ssh://-oProxyCommand=x/y', /host/],
    ['https:///nohost', /no host/],
    ['-oProxyCommand=x:y', /not a path/],
    ['@:x', /host/],
    ['/repo\nother', /not a path/],
  ])('%j is refused', (repo, reason) => {
    const location = classifyRepo(repo);
    expect(location.kind).toBe('refused');
    expect(location.kind === 'refused' && location.reason).toMatch(reason);
  });
});

describe('credentials in URLs never reach a message', () => {
  it('hides the userinfo of every URL in a text, and leaves the rest', () => {
    expect(redactUrlCredentials("fatal: unable to access 'https://me:ghp_secret@github.com/acme/web.git/': 403")).toBe(
      "fatal: unable to access 'https://***@github.com/acme/web.git/': 403",
    );
    expect(redactUrlCredentials('ssh://deploy@host/x and https://tok@h/y')).toBe('ssh://***@host/x and https://***@h/y');
    expect(redactUrlCredentials('git@github.com:acme/web.git https://github.com/a/b')).toBe('git@github.com:acme/web.git https://github.com/a/b');
  });
});
