import type { TemplateRow } from '../store/templates.js';
import { checkGoalRequest, type CheckedGoalRequest, type GoalRules } from '../goal-requests/goal-request.js';
import { resolveParameters, substitute, type ParameterSpecs, type ParameterValues } from './substitution.js';

/**
 * The goal request a start of `template` with `given` parameters makes:
 * parameters checked and defaulted, placeholders filled, the result held to
 * the rules of `POST /api/goals`. No I/O.
 */
export function goalFromTemplate(
  template: Pick<TemplateRow, 'parameters' | 'body'>,
  given: Record<string, unknown>,
  rules: GoalRules,
): (CheckedGoalRequest & { ok: false }) | (CheckedGoalRequest & { ok: true; values: ParameterValues }) {
  const resolved = resolveParameters(template.parameters as ParameterSpecs, given);
  if (!resolved.ok) return { ok: false, message: resolved.message, problems: resolved.problems };
  const checked = checkGoalRequest(substitute(template.body, resolved.values), rules);
  if (!checked.ok) return { ...checked, message: `the goal this template makes is not valid: ${checked.message}` };
  return { ...checked, values: resolved.values };
}
