import { mkdtemp, realpath, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditAccessibility, describeViolations, seriousOrWorse } from '../support/accessibility.js';
import { SCREENSHOTS, chromiumAvailable, launchChromium, type RunningBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createGitRepo } from '../support/git-repo.js';
import { waitFor } from '../support/orchestration.js';
import { REPO_ROOT, killAllServers, startServer, type ServerProcess } from '../support/server-process.js';

/**
 * The dashboard in a real browser (headless Chromium) against the real server
 * as a child process, with a fake agent (test/fixtures/dashboard-agent.mjs)
 * that holds while a file exists, printing a live log. One goal is followed
 * from creation to approval the way a person would: sign in with the token,
 * paste the goal as YAML, watch the tree go green live, read a task's live log
 * and its diff, resolve a gate by hand, reject a review with feedback from a
 * phone-sized viewport and see the rework run, approve it there. A second
 * goal is cancelled, once the confirmation is accepted. Each page shown is
 * audited by axe-core (WCAG 2 A and AA): nothing serious or critical.
 * Screenshots of each page go to test-artifacts/screenshots/.
 */

const TOKEN = 'dashboard-test-token-0123456789';
const PHONE = { width: 390, height: 844 };
const FEEDBACK = 'Mention the dark palette in the changelog';

const haveChromium = chromiumAvailable();

describe.skipIf(!haveChromium)('the dashboard in a browser', () => {
  let database: TestDatabase;
  let tmp: string;
  let holdDir: string;
  let repo: string;
  let server: ServerProcess;
  let chromium: RunningBrowser;
  let page: Page;
  let goalId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'arbor-dashboard-')));
    holdDir = path.join(tmp, 'hold');
    await mkdir(holdDir);
    repo = (await createGitRepo({ prefix: 'arbor-dashboard-repo-' })).path;
    server = await startServer({
      dataDir: path.join(tmp, 'data'),
      databaseUrl: database.url,
      env: {
        ARBOR_DASHBOARD: 'on',
        ARBOR_API_TOKEN: TOKEN,
        ARBOR_AGENT: 'command',
        ARBOR_AGENT_COMMAND: `node ${path.join(REPO_ROOT, 'test/fixtures/dashboard-agent.mjs')}`,
        ARBOR_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
        ARBOR_POLL_INTERVAL_MS: '100',
        ARBOR_SPAWN_PER_SECOND: '0',
        DASHBOARD_HOLD_DIR: holdDir,
      },
    });
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (message) => {
      // A refused request (the wrong token's 401) is logged by the browser; that is the API answering, not the page failing.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    if (server) await server.stop('SIGTERM').catch(() => undefined);
    await killAllServers();
    await database?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (repo) await rm(repo, { recursive: true, force: true });
  }, 120_000);

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const node = (key: string) => page.locator(`li.node[data-task-key="${key}"]`).first();
  const waitForNodeStatus = (key: string, status: string) =>
    page.locator(`li.node[data-task-key="${key}"][data-status="${status}"]`).first().waitFor({ timeout: 30_000 });
  const apiGet = async <T>(route: string): Promise<T> => {
    const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status, `GET ${route}`).toBe(200);
    return (await res.json()) as T;
  };
  /** No serious or critical WCAG A/AA violation on the page as shown; lesser ones are printed to be looked at. */
  const expectAccessible = async (where: string) => {
    const violations = await auditAccessibility(page);
    const blocking = seriousOrWorse(violations);
    const lesser = violations.filter((v) => !blocking.includes(v));
    if (lesser.length > 0) console.log(`axe, moderate or minor, on ${where}:\n  ${describeViolations(lesser).join('\n  ')}`);
    // Soft: the story goes on, and every page's findings are reported in one run.
    expect.soft(describeViolations(blocking), `serious or critical accessibility violations on ${where}`).toEqual([]);
  };

  it('signs in with the API token', async () => {
    await page.goto(server.url);
    await page.getByLabel('API token').waitFor();
    await shot('sign-in');
    await expectAccessible('the sign-in page');
    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That is not this Arbor’s API token').waitFor();
    await expectAccessible('the sign-in page with its error');
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Goals' }).waitFor();
    await page.getByText('No goals yet.').waitFor();
    await expectAccessible('the empty goals list');
    const cookies = await chromium.context.cookies(server.url);
    expect(cookies.find((c) => c.name === 'arbor_session')?.httpOnly).toBe(true);
  });

  it('creates a goal from pasted YAML, checked as it is typed', async () => {
    // api is held: its run stays live until the file goes.
    await writeFile(path.join(holdDir, 'api'), '');
    await page.getByRole('link', { name: 'New goal' }).first().click();
    const field = page.getByLabel('Goal, as YAML or JSON');
    await field.fill(goalYaml(repo, ['nowhere']));
    await page.getByText('depends on nowhere').or(page.getByText('nowhere')).first().waitFor();
    expect(await page.getByRole('button', { name: 'Create goal' }).isDisabled()).toBe(true);
    await field.fill('title: [unclosed');
    await page.getByText(/^YAML:/).waitFor();
    await shot('new-goal-invalid');
    await expectAccessible('the new-goal page with invalid YAML');
    await field.fill(goalYaml(repo, ['plan']));
    await page.getByText('Looks right.').waitFor();
    await shot('new-goal');
    await expectAccessible('the new-goal page with valid YAML');
    await page.getByRole('button', { name: 'Create goal' }).click();
    await page.waitForURL(/\/goals\/[0-9a-f-]{36}$/);
    goalId = page.url().split('/').pop()!;
    await page.getByRole('heading', { name: 'Add dark mode' }).waitFor();
  });

  it('shows the tree with its groups, gate and review, and the held task running', async () => {
    await waitForNodeStatus('plan', 'succeeded');
    await waitForNodeStatus('ui', 'succeeded');
    await waitForNodeStatus('api', 'running');
    await node('build').getByText('group · in parallel').waitFor();
    await node('ci').getByText('waits for gh_ci acme/web#42').waitFor();
    await node('ok').getByText('a person approves').waitFor();
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'dashboard.png'), fullPage: true });
    await shot('goal-running');
    await expectAccessible('the goal tree');
  });

  it('pauses and resumes the goal', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.page-head .badge', { hasText: 'paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.page-head .badge', { hasText: 'running' }).waitFor();
  });

  it("follows a running task's live log", async () => {
    await node('api').getByRole('link', { name: /api/ }).first().click();
    await page.getByRole('heading', { name: /api\s+API/ }).waitFor();
    const log = page.getByLabel('session log');
    await log.getByText('working on api').waitFor();
    await page.getByText('following live').waitFor();
    // Lines the agent prints after the page loaded arrive without a reload.
    const seen = Number((await log.locator('.log-line').last().innerText()).match(/tick (\d+)/)?.[1] ?? 0);
    await log.getByText(`tick ${seen + 5}`, { exact: true }).waitFor();
    expect(await log.locator('.log-line.stderr').count()).toBeGreaterThan(0);
    await shot('task-live-log');
    await expectAccessible('the task page with its live log');
  });

  it('watches the tree go green live when the held task finishes', async () => {
    await page.getByRole('navigation', { name: 'breadcrumb' }).getByRole('link', { name: 'Add dark mode' }).click();
    await waitForNodeStatus('api', 'running');
    // Set on this document: still there afterwards means the page was updated in place, not reloaded.
    await page.evaluate('window.stillHere = true');
    await unlink(path.join(holdDir, 'api'));
    await waitForNodeStatus('api', 'succeeded');
    await waitForNodeStatus('build', 'succeeded');
    await waitForNodeStatus('ci', 'waiting');
    expect(await page.evaluate('window.stillHere')).toBe(true);
    await shot('goal-gate-waiting');
    await expectAccessible('the goal tree with a gate waiting');
  });

  it('resolves the waiting gate by hand', async () => {
    await node('ci').getByRole('link', { name: 'Resolve gate by hand' }).click();
    await page.getByRole('heading', { name: 'Resolve the gate' }).waitFor();
    await expectAccessible('the gate page');
    await page.getByLabel('Summary (optional)').fill('checked by hand');
    await page.getByRole('button', { name: 'Pass' }).click();
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor();
  });

  it("reads a finished task's diff and log", async () => {
    const goal = await apiGet<{ tasks: { id: string; key: string }[] }>(`/api/goals/${goalId}`);
    const docs = goal.tasks.find((t) => t.key === 'docs')!;
    await page.goto(`${server.url}/tasks/${docs.id}`);
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    const diff = page.locator('.diff');
    await diff.getByRole('cell', { name: 'work/docs.txt' }).waitFor();
    await diff.locator('.diff-line.add', { hasText: '+done: docs' }).waitFor();
    await page.getByLabel('session log').getByText('Wrote work/docs.txt.').waitFor();
    await shot('task-diff');
    await expectAccessible('the task page with its diff and log');
  });

  it('rejects the review with feedback from a phone and sees the rework run', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.url}/goals/${goalId}`);
    await waitForNodeStatus('ok', 'review');
    await shot('phone-goal');
    await expectAccessible('the goal tree on a phone');
    await node('ok').getByRole('link', { name: 'Review ok' }).click();
    const feedback = page.getByLabel('Feedback for the rework');
    await feedback.waitFor();
    await shot('phone-review');
    await expectAccessible('the review page on a phone');
    await feedback.fill(FEEDBACK);
    const reject = page.getByRole('button', { name: 'Reject with feedback' });
    await expectWithinViewport(page, reject);
    await reject.click();
    await page.getByText('Rejected: the work goes back with your feedback.').waitFor();
    // docs runs again with the feedback in its prompt (the agent writes it into its file and summary) ...
    const docs = await waitFor('docs to be reworked with the feedback', async () => {
      const goal = await apiGet<{ tasks: { id: string; key: string; status: string; result: { summary?: string } | null }[] }>(`/api/goals/${goalId}`);
      const task = goal.tasks.find((t) => t.key === 'docs')!;
      return task.status === 'succeeded' && task.result?.summary?.includes(FEEDBACK) ? task : undefined;
    }, 30_000);
    // ... and the page, live, shows the review waiting again.
    await page.locator('.page-head .badge', { hasText: 'review' }).waitFor({ timeout: 30_000 });
    await page.goto(`${server.url}/tasks/${docs.id}`);
    await page.locator('.diff-line.add', { hasText: `+feedback: ${FEEDBACK}` }).waitFor();
    await page.getByRole('button', { name: /^Attempt/ }).nth(1).waitFor();
    await shot('phone-rework');
    await expectAccessible('the reworked task page on a phone');
  });

  it('approves the review from a phone and the goal succeeds', async () => {
    await page.goto(`${server.url}/goals/${goalId}`);
    await node('ok').getByRole('link', { name: 'Review ok' }).click();
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.waitFor();
    await expectWithinViewport(page, approve);
    // By keyboard: from the comment field, Tab reaches Approve, which shows its focus; Enter approves.
    await page.getByLabel('Comment (optional)').fill('Looks good');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Approve');
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor();
    await page.getByRole('navigation', { name: 'breadcrumb' }).getByRole('link', { name: 'Add dark mode' }).click();
    await page.locator('.page-head .badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await shot('phone-goal-succeeded');
  });

  it('lists the signals and the gates they opened', async () => {
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.getByRole('link', { name: 'Signals' }).click();
    await page.getByRole('heading', { name: 'Signals' }).waitFor();
    await page.getByText('checked by hand').waitFor();
    await shot('signals');
    await expectAccessible('the signals page');
    await page.getByRole('link', { name: 'Goals' }).first().click();
    await page.locator('.goal-card', { hasText: 'Add dark mode' }).getByText('succeeded').first().waitFor();
    await shot('goals');
    await expectAccessible('the goals list');
    expect(pageErrors).toEqual([]);
  });

  it('cancels another goal once the confirmation is accepted, and not when it is dismissed', async () => {
    // A goal of its own, so the one above still ends approved; its review holds it running.
    const res = await fetch(`${server.url}/api/goals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Try a sepia palette', repo, base_ref: 'main', tasks: [{ key: 'look', title: 'Look at it', kind: 'human_review' }] }),
    });
    expect(res.status, 'POST /api/goals').toBe(201);
    const { goal } = (await res.json()) as { goal: { id: string } };
    const goalStatus = async () => (await apiGet<{ goal: { status: string } }>(`/api/goals/${goal.id}`)).goal.status;
    await page.goto(`${server.url}/goals/${goal.id}`);
    await waitForNodeStatus('look', 'review');
    await page.locator('.page-head .badge', { hasText: 'running' }).waitFor();
    const cancel = page.getByRole('button', { name: 'Cancel goal' });

    const cancelRequests: string[] = [];
    const onRequest = (request: Request) => {
      if (request.method() === 'POST' && request.url().endsWith(`/api/goals/${goal.id}/cancel`)) cancelRequests.push(request.url());
    };
    page.on('request', onRequest);
    const dismissed = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.dismiss();
      }),
    );
    await cancel.click();
    expect(await dismissed).toBe('Cancel “Try a sepia palette”? Running sessions are stopped.');
    // Dismissed, nothing is sent: the goal and its review stay as they were.
    expect(cancelRequests).toEqual([]);
    expect(await goalStatus()).toBe('running');
    await waitForNodeStatus('look', 'review');
    expect(await cancel.isEnabled()).toBe(true);

    page.once('dialog', (dialog) => void dialog.accept());
    await cancel.click();
    await page.locator('.page-head .badge', { hasText: 'cancelled' }).waitFor();
    page.off('request', onRequest);
    expect(cancelRequests).toHaveLength(1);
    await waitForNodeStatus('look', 'cancelled');
    expect(await goalStatus()).toBe('cancelled');
    await shot('goal-cancelled');
    await expectAccessible('a cancelled goal');
    expect(pageErrors).toEqual([]);
  });
});

/** On screen at a phone's width without zooming or scrolling sideways, and big enough for a thumb. */
async function expectWithinViewport(page: Page, locator: ReturnType<Page['locator']>): Promise<void> {
  await locator.scrollIntoViewIfNeeded();
  const box = await locator.boundingBox();
  const viewport = page.viewportSize()!;
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
  expect(box!.height).toBeGreaterThanOrEqual(44);
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
}

function goalYaml(repo: string, docsAfter: string[]): string {
  return `title: Add dark mode
description: A dark theme for the web app, behind a user setting.
repo: ${repo}
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
  - key: ci
    title: CI green
    kind: wait_for_signal
    gate: { type: gh_ci, repo: acme/web, pr: 42 }
  - key: docs
    title: Changelog
    depends_on: [${docsAfter.join(', ')}]
    instructions: Add a changelog entry.
  - key: ok
    title: Sign-off
    kind: human_review
`;
}
