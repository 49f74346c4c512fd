import { z } from '@hono/zod-openapi';
import type { TemplateRow } from '../../store/templates.js';
import { ParameterSpecSchema } from '../../templates/template-definition.js';

export { TemplateDefinitionSchema as CreateTemplateSchema } from '../../templates/template-definition.js';

export const TemplateNameParamSchema = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'pr-shepherd' }),
});

export const TemplateSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    parameters: z.record(z.string(), ParameterSpecSchema),
    body: z.record(z.string(), z.unknown()),
    source: z.enum(['api', 'file']).openapi({ description: 'file: shipped in templates/ and refreshed at every start' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Template');

export const StartTemplateSchema = z
  .strictObject({
    params: z
      .record(z.string(), z.union([z.string().max(200_000), z.number(), z.boolean()]))
      .default({})
      .openapi({ description: "values for the template's parameters; missing ones take their default" }),
  })
  .openapi('StartTemplate');

export function toTemplateJson(row: TemplateRow): z.infer<typeof TemplateSchema> {
  return {
    name: row.name,
    description: row.description,
    parameters: row.parameters as z.infer<typeof TemplateSchema>['parameters'],
    body: row.body,
    source: row.source,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
