import { createRequire } from 'node:module';
import type { AxeResults, Result } from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * An accessibility audit of the page as it is shown, by axe-core against the
 * WCAG 2.0, 2.1 and 2.2 A and AA rules. axe is a test dependency only: it is
 * served to the page from node_modules, never from a network and never in the
 * dashboard's bundle.
 */

export type Violation = Result;

const AXE_FILE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** Same origin as the dashboard, so its CSP (script-src 'self', no inline scripts) lets axe in unchanged. */
const AXE_PATH = '/__test__/axe.min.js';
const WCAG_2_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const routed = new WeakSet<Page>();

/** Every WCAG A/AA violation axe finds on the page now, whatever its impact. */
export async function auditAccessibility(page: Page): Promise<Violation[]> {
  // A full load drops window.axe; an in-place navigation keeps it.
  if (!(await page.evaluate('typeof window.axe === "object"'))) {
    if (!routed.has(page)) {
      // Answered by the test, not the server: the file comes off disk.
      await page.route(`**${AXE_PATH}`, (route) => route.fulfill({ path: AXE_FILE, contentType: 'text/javascript; charset=utf-8' }));
      routed.add(page);
    }
    await page.addScriptTag({ url: AXE_PATH });
  }
  // A string, not a function: what runs in the page is exactly this, whatever the test's transpiler adds to functions.
  const results = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_2_A_AA)} }, resultTypes: ['violations'] })`,
  )) as AxeResults;
  return results.violations;
}

/** The violations a person is likely blocked by. */
export function seriousOrWorse(violations: Violation[]): Violation[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** One line per rule: its id, impact, how many elements, and the first few of them as selectors. */
export function describeViolations(violations: Violation[], shown = 3): string[] {
  return violations.map((v) => {
    const targets = v.nodes.slice(0, shown).map((n) => n.target.join(' '));
    const more = v.nodes.length > shown ? `, and ${v.nodes.length - shown} more` : '';
    return `${v.id} (${v.impact}, ${v.nodes.length}×: ${v.help}): ${targets.join(' | ')}${more}`;
  });
}
