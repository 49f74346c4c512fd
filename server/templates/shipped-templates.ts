import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { upsertFileTemplate } from '../store/templates.js';
import type { GoalRules } from '../goal-requests/goal-request.js';
import { TemplateDefinitionSchema, checkTemplate } from './template-definition.js';

/** The templates that ship with Arbor (`templates/*.json` at the repository root). */
export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface ShippedTemplates {
  loaded: string[];
  rejected: { file: string; message: string }[];
}

/**
 * Reads every `*.json` template in `dir`, checks it exactly as `POST
 * /api/templates` would and stores the ones that pass. One that does not is
 * logged with what is wrong and left out: the rest of Arbor still starts, and
 * the template is simply not there to start goals from.
 */
export async function loadShippedTemplates(db: Db, dir: string, rules: GoalRules, logger: Logger): Promise<ShippedTemplates> {
  const result: ShippedTemplates = { loaded: [], rejected: [] };
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const problem = await loadOne(db, path.join(dir, file), rules);
    if (typeof problem === 'string') {
      result.rejected.push({ file, message: problem });
      logger.error({ file: path.join(dir, file) }, `shipped template ${file} is not valid and was not loaded: ${problem}`);
    } else {
      result.loaded.push(problem.name);
    }
  }
  if (result.loaded.length > 0) logger.info({ templates: result.loaded }, 'shipped templates loaded');
  return result;
}

async function loadOne(db: Db, file: string, rules: GoalRules): Promise<{ name: string } | string> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return `not readable JSON: ${(err as Error).message}`;
  }
  const parsed = TemplateDefinitionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${issue.path.map(String).join('.') || 'template'}: ${issue.message}`;
  }
  const checked = checkTemplate(parsed.data, rules);
  if (!checked.ok) return checked.message;
  const { name, description, parameters, body } = parsed.data;
  await upsertFileTemplate(db, { name, description: description ?? '', parameters, body });
  return { name };
}
