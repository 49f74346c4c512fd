import { parse as parseYaml, YAMLParseError } from 'yaml';
import { planGoalTree, type TaskSpec } from '../server/domain/goal-tree.js';

/**
 * Checks a pasted goal (YAML or JSON) as the user types: the syntax, the
 * shape of the request, then the tree through the server's own rules
 * (`planGoalTree`: keys, depends_on, cycles, gates, depth). What only the
 * server can know — the repository exists, base_ref names a commit, the
 * agent's CLI is installed, its own task limits — comes back as the 422's
 * details on submit. Loaded only by the new-goal page.
 */

export interface GoalCheck {
  /** The request to POST, or null when the text does not parse to an object. */
  request: Record<string, unknown> | null;
  problems: string[];
}

const GOAL_FIELDS = ['title', 'description', 'repo', 'base_ref', 'agent', 'children_mode', 'max_parallel', 'metadata', 'pull_request', 'tasks'];
const TASK_FIELDS = [
  'key', 'title', 'instructions', 'acceptance', 'kind', 'session_policy', 'children_mode', 'agent', 'depends_on', 'children',
  'gate', 'priority', 'max_attempts', 'timeout_s', 'requires_approval', 'pull_request', 'metadata',
];
const ENUMS: Record<string, readonly string[]> = {
  kind: ['agent', 'wait_for_signal', 'human_review', 'group'],
  session_policy: ['pinned', 'spawn', 'auto'],
  children_mode: ['sequential', 'parallel'],
  agent: ['claude', 'codex', 'command'],
};
/** The server's defaults (ARBOR_MAX_TASKS_PER_GOAL, ARBOR_MAX_TREE_DEPTH); a server set lower still answers 422. */
const LIMITS = { maxTasks: 10_000, maxDepth: 32 };

export function parseGoalText(text: string): { value: unknown; problem: string | null } {
  const trimmed = text.trim();
  if (trimmed === '') return { value: null, problem: 'paste a goal as YAML or JSON' };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { value: JSON.parse(trimmed), problem: null };
    } catch (err) {
      return { value: null, problem: `JSON: ${(err as Error).message}` };
    }
  }
  try {
    return { value: parseYaml(text, { prettyErrors: true, uniqueKeys: true }), problem: null };
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message.split('\n')[0]! : (err as Error).message;
    return { value: null, problem: `YAML: ${message}` };
  }
}

export function checkGoalText(text: string): GoalCheck {
  const { value, problem } = parseGoalText(text);
  if (problem) return { request: null, problems: [problem] };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { request: null, problems: ['a goal is an object with title, repo and tasks'] };
  const goal = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of Object.keys(goal)) if (!GOAL_FIELDS.includes(field)) problems.push(`${field}: not a field of a goal`);
  if (typeof goal.title !== 'string' || goal.title.trim() === '') problems.push('title: required, a string');
  if (typeof goal.repo !== 'string' || goal.repo === '') problems.push('repo: required, the absolute path of a git repository or a git URL');
  else if (!goal.repo.startsWith('/') && !/^(https?|ssh|git|file):\/\/|^[\w.-]+@[\w.-]+:/.test(goal.repo)) {
    problems.push('repo: must be an absolute path or a git URL (https, ssh, git, file)');
  }
  for (const field of ['description', 'base_ref'] as const) {
    if (goal[field] !== undefined && typeof goal[field] !== 'string') problems.push(`${field}: must be a string`);
  }
  checkEnum(goal, 'agent', '', problems);
  checkEnum(goal, 'children_mode', '', problems);
  if (goal.max_parallel !== undefined && !(Number.isInteger(goal.max_parallel) && (goal.max_parallel as number) >= 1)) {
    problems.push('max_parallel: must be a whole number, 1 or more');
  }
  if (!Array.isArray(goal.tasks) || goal.tasks.length === 0) {
    problems.push('tasks: required, a list of at least one task');
    return { request: goal, problems };
  }
  const shapeProblems: string[] = [];
  goal.tasks.forEach((task, i) => checkTaskShape(task, `tasks.${i}`, shapeProblems));
  problems.push(...shapeProblems);
  // The tree rules need well-formed tasks; with shape problems they would only repeat them.
  if (shapeProblems.length === 0) {
    const plan = planGoalTree(goal.tasks as TaskSpec[], goal.children_mode === 'parallel' ? 'parallel' : 'sequential', LIMITS);
    if (!plan.ok) for (const error of plan.errors) problems.push(error.task ? `task ${error.task}: ${error.message}` : error.message);
  }
  return { request: goal, problems };
}

function checkTaskShape(task: unknown, where: string, problems: string[]): void {
  if (!task || typeof task !== 'object' || Array.isArray(task)) {
    problems.push(`${where}: a task is an object with key and title`);
    return;
  }
  const t = task as Record<string, unknown>;
  for (const field of Object.keys(t)) if (!TASK_FIELDS.includes(field)) problems.push(`${where}.${field}: not a field of a task`);
  if (typeof t.key !== 'string' || t.key === '') problems.push(`${where}.key: required, a string`);
  if (typeof t.title !== 'string' || t.title === '') problems.push(`${where}.title: required, a string`);
  for (const field of ['instructions', 'acceptance'] as const) {
    if (t[field] !== undefined && typeof t[field] !== 'string') problems.push(`${where}.${field}: must be a string`);
  }
  for (const field of ['kind', 'session_policy', 'children_mode', 'agent'] as const) checkEnum(t, field, `${where}.`, problems);
  if (t.depends_on !== undefined && !(Array.isArray(t.depends_on) && t.depends_on.every((d) => typeof d === 'string'))) {
    problems.push(`${where}.depends_on: must be a list of task keys`);
  }
  if (t.gate !== undefined && (typeof t.gate !== 'object' || t.gate === null || Array.isArray(t.gate))) problems.push(`${where}.gate: must be an object`);
  if (t.requires_approval !== undefined && typeof t.requires_approval !== 'boolean') problems.push(`${where}.requires_approval: must be true or false`);
  for (const field of ['priority', 'max_attempts', 'timeout_s'] as const) {
    if (t[field] !== undefined && !Number.isInteger(t[field])) problems.push(`${where}.${field}: must be a whole number`);
  }
  if (t.children !== undefined) {
    if (!Array.isArray(t.children)) problems.push(`${where}.children: must be a list of tasks`);
    else t.children.forEach((child, i) => checkTaskShape(child, `${where}.children.${i}`, problems));
  }
}

function checkEnum(object: Record<string, unknown>, field: string, where: string, problems: string[]): void {
  const value = object[field];
  const allowed = ENUMS[field]!;
  if (value !== undefined && (typeof value !== 'string' || !allowed.includes(value))) problems.push(`${where}${field}: one of ${allowed.join(', ')}`);
}
