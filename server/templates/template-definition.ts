import { z } from '@hono/zod-openapi';
import { screenUnstorable } from '../goal-requests/goal-request.schemas.js';
import { checkGoalRequest, type GoalRules, type RequestProblem } from '../goal-requests/goal-request.js';
import {
  PARAMETER_NAME_PATTERN,
  PARAMETER_TYPES,
  placeholdersIn,
  sampleValues,
  substitute,
  valueFits,
  type ParameterSpecs,
} from './substitution.js';

/** A template as it is posted or shipped in `templates/*.json`. */

export const TEMPLATE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const ParameterValueSchema = z.union([z.string().max(200_000), z.number(), z.boolean()]);

export const ParameterSpecSchema = z
  .strictObject({
    type: z.enum(PARAMETER_TYPES).default('string'),
    description: z.string().max(2000).optional(),
    required: z.boolean().optional(),
    default: ParameterValueSchema.optional(),
    example: ParameterValueSchema.optional(),
  })
  .openapi('TemplateParameter');

export const TemplateDefinitionSchema = z
  .preprocess(
    screenUnstorable,
    z.strictObject({
      name: z.string().regex(TEMPLATE_NAME_PATTERN, 'must be 1-64 lowercase letters, digits, "-" or "_"'),
      description: z.string().max(20_000).optional(),
      parameters: z
        .record(z.string().regex(PARAMETER_NAME_PATTERN, 'parameter names are lowercase letters, digits and "_"'), ParameterSpecSchema)
        .default({}),
      body: z.record(z.string(), z.unknown()).openapi({
        description: 'a POST /api/goals request; strings may hold {{parameter}} placeholders',
      }),
    }),
  )
  .openapi('TemplateDefinition');

export type TemplateDefinition = z.infer<typeof TemplateDefinitionSchema>;

/**
 * Whether a template can ever start a valid goal: every placeholder names a
 * declared parameter, defaults and examples have their parameter's type, and
 * the body filled with sample values passes every rule of `POST /api/goals`.
 */
export function checkTemplate(template: TemplateDefinition, rules: GoalRules): { ok: true } | { ok: false; message: string; problems: RequestProblem[] } {
  const specs: ParameterSpecs = template.parameters;
  const undeclared = [...placeholdersIn(template.body)].filter((name) => !Object.hasOwn(specs, name));
  if (undeclared.length > 0) {
    return {
      ok: false,
      message: `the body uses undeclared parameters: ${undeclared.join(', ')}`,
      problems: undeclared.map((name) => ({ path: 'body', message: `{{${name}}} is not a declared parameter` })),
    };
  }
  const mistyped: RequestProblem[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    for (const field of ['default', 'example'] as const) {
      if (spec[field] !== undefined && !valueFits(spec.type, spec[field])) {
        mistyped.push({ path: `parameters.${name}.${field}`, message: `must be of the parameter's type, ${spec.type}` });
      }
    }
  }
  if (mistyped.length > 0) return { ok: false, message: `${mistyped[0]!.path}: ${mistyped[0]!.message}`, problems: mistyped };
  const checked = checkGoalRequest(substitute(template.body, sampleValues(specs)), rules);
  if (checked.ok) return { ok: true };
  return {
    ok: false,
    message: `the body with sample parameter values is not a valid goal: ${checked.message}`,
    problems: checked.problems.map((p) => ({ path: p.path ? `body.${p.path}` : 'body', message: p.message })),
  };
}
