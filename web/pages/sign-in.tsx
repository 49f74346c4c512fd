import { useState } from 'preact/hooks';
import { api, ApiFailure } from '../api.js';
import { ErrorNotice } from '../components/notice.js';
import { useTitle } from '../title.js';

/** The API token once, for a session cookie (HttpOnly): the token itself is not kept in the browser. */
export function SignInPage({ onSignedIn }: { onSignedIn: (csrfToken: string) => void }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { csrf_token } = await api<{ csrf_token: string }>('/api/auth/session', { method: 'POST', body: { token: token.trim() } });
      onSignedIn(csrf_token);
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 401 ? new Error('That is not this Arbor’s API token (ARBOR_API_TOKEN).') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="sign-in">
      <h1>Sign in to Arbor</h1>
      <form class="stack" onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <p class="muted">The value of ARBOR_API_TOKEN this server was started with.</p>
        <ErrorNotice error={error} />
        <button type="submit" class="button primary big" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </div>
  );
}
