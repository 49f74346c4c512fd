import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNotice } from '../components/notice.js';
import { navigate } from '../router.js';
import type { GoalWithTasks } from '../types.js';
import { useTitle } from '../title.js';

type Checker = typeof import('../goal-check.js');

const EXAMPLE = `title: Add dark mode
description: A dark theme for the web app, behind a user setting.
repo: /absolute/path/to/your/repo
base_ref: main
tasks:
  - key: plan
    title: Plan
    instructions: Write down how the theme is stored and switched on.
  - key: build
    title: Build
    children_mode: parallel
    children:
      - { key: api, title: API, instructions: Store the preference per user. }
      - { key: ui, title: UI, instructions: Add the dark palette and the toggle. }
  - key: ok
    title: Sign-off
    kind: human_review
`;

/**
 * A new goal from pasted YAML or JSON, checked as it is typed (syntax, shape,
 * and the tree through the server's own tree rules); what only the server
 * can check (the repository, the agent's CLI) comes back on submit.
 */
export function NewGoalPage() {
  useTitle('New goal');
  const [text, setText] = useState('');
  const [checker, setChecker] = useState<Checker | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [request, setRequest] = useState<Record<string, unknown> | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => {
    // The YAML parser and the tree rules load with this page, not with the first page.
    void import('../goal-check.js').then(setChecker, (err: unknown) => setError(err));
  }, []);

  useEffect(() => {
    if (!checker) return;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      const check = checker.checkGoalText(text);
      setProblems(check.problems);
      setRequest(check.request);
    }, 120);
    return () => window.clearTimeout(timer.current);
  }, [text, checker]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!request || problems.length > 0) return;
    setBusy(true);
    setError(null);
    try {
      const created = await api<GoalWithTasks>('/api/goals', { method: 'POST', body: request });
      navigate(`/goals/${created.goal.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const ready = checker !== null && request !== null && problems.length === 0 && text.trim() !== '';
  return (
    <>
      <h1>New goal</h1>
      <form class="stack" onSubmit={submit}>
        <label for="goal-text">Goal, as YAML or JSON</label>
        <p id="goal-help" class="muted">
          The same request as <code>POST /api/goals</code>: title, repo (an absolute path or a git URL), tasks.{' '}
          <button type="button" class="link-button" onClick={() => setText(EXAMPLE)}>
            Start from an example
          </button>
        </p>
        <textarea
          id="goal-text"
          class="code-input"
          rows={18}
          spellcheck={false}
          autocapitalize="off"
          aria-describedby="goal-help goal-check"
          aria-invalid={text.trim() !== '' && problems.length > 0}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
        <div id="goal-check" aria-live="polite">
          {text.trim() !== '' && checker && problems.length > 0 && (
            <div class="notice warn">
              <p>Not yet a goal Arbor takes:</p>
              <ul class="problems">
                {problems.map((p, i) => (
                  <li key={i}>{p}</li>
                ))}
              </ul>
            </div>
          )}
          {ready && <p class="notice ok">Looks right. The server checks the repository and agent when you create it.</p>}
        </div>
        <ErrorNotice error={error} />
        <button type="submit" class="button primary big" disabled={!ready || busy}>
          Create goal
        </button>
      </form>
    </>
  );
}
