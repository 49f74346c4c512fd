import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, setCsrfToken, whenSignedOut } from './api.js';
import { GoalPage } from './pages/goal.js';
import { GoalsPage } from './pages/goals.js';
import { NewGoalPage } from './pages/new-goal.js';
import { SignInPage } from './pages/sign-in.js';
import { SignalsPage } from './pages/signals.js';
import { TaskPage } from './pages/task.js';
import { Link, useLocation } from './router.js';
import type { AuthSession } from './types.js';
import { useTitle } from './title.js';

/** Without the auth routes (an older server) the API is as open as it says it is. */
const OPEN: AuthSession = { auth_required: false, signed_in: true, csrf_token: null };

export function App() {
  const [auth, setAuth] = useState<AuthSession | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  useEffect(() => {
    whenSignedOut(() => setAuth((current) => (current ? { ...current, signed_in: false, csrf_token: null } : current)));
    api<AuthSession>('/api/auth/session')
      .then((session) => {
        setCsrfToken(session.csrf_token);
        setAuth(session);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiFailure && err.status === 404) setAuth(OPEN);
        else setProblem(err);
      });
  }, []);

  if (problem) {
    return (
      <main id="main" class="container">
        <h1>Arbor</h1>
        <p class="notice error" role="alert">
          {(problem as Error).message}
        </p>
      </main>
    );
  }
  if (!auth) return <main id="main" class="container" aria-busy="true" />;
  if (auth.auth_required && !auth.signed_in) {
    return (
      <main id="main" class="container narrow">
        <SignInPage
          onSignedIn={(csrf) => {
            setCsrfToken(csrf);
            setAuth({ ...auth, signed_in: true, csrf_token: csrf });
          }}
        />
      </main>
    );
  }
  const signOut = async () => {
    await api('/api/auth/session', { method: 'DELETE' }).catch(() => undefined);
    setCsrfToken(null);
    setAuth({ ...auth, signed_in: false, csrf_token: null });
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav class="container nav" aria-label="main">
          <Link class="brand" href="/">
            Arbor
          </Link>
          <Link href="/">Goals</Link>
          <Link href="/new">New goal</Link>
          <Link href="/signals">Signals</Link>
          {auth.auth_required && (
            <button type="button" class="link-button sign-out" onClick={signOut}>
              Sign out
            </button>
          )}
        </nav>
      </header>
      <main id="main" class="container" tabIndex={-1}>
        <Page />
      </main>
    </>
  );
}

function Page() {
  const { path, query } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    // After navigating in place, a screen reader starts at the new page, as after a full load.
    if (first.current) first.current = false;
    else document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);
  const goal = /^\/goals\/([^/]+)\/?$/.exec(path);
  const task = /^\/tasks\/([^/]+)\/?$/.exec(path);
  if (path === '/' || path === '/goals') return <GoalsPage status={query.get('status')} />;
  if (goal) return <GoalPage id={decodeURIComponent(goal[1]!)} />;
  if (task) return <TaskPage id={decodeURIComponent(task[1]!)} />;
  if (path === '/new') return <NewGoalPage />;
  if (path === '/signals') return <SignalsPage />;
  return <NotFound />;
}

function NotFound() {
  useTitle('Not found');
  return (
    <>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link href="/">See the goals</Link>.
      </p>
    </>
  );
}
