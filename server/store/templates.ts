import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { TemplatesTable } from '../db/schema.js';

export type TemplateRow = Selectable<TemplatesTable>;

export interface NewTemplate {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** Stores a template posted over the API; null when the name is taken. */
export async function insertTemplate(db: Db, template: NewTemplate): Promise<TemplateRow | null> {
  const row = await db
    .insertInto('templates')
    .values({ ...template, source: 'api' })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ?? null;
}

/** A template shipped as a file: the file is the truth, so it replaces what the database holds under its name. */
export async function upsertFileTemplate(db: Db, template: NewTemplate): Promise<void> {
  await db
    .insertInto('templates')
    .values({ ...template, source: 'file' })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        description: template.description,
        parameters: template.parameters,
        body: template.body,
        source: 'file',
        updatedAt: sql`now()`,
      }),
    )
    .execute();
}

export async function getTemplate(db: Db, name: string): Promise<TemplateRow | undefined> {
  return db.selectFrom('templates').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listTemplates(db: Db): Promise<TemplateRow[]> {
  return db.selectFrom('templates').selectAll().orderBy('name').execute();
}
