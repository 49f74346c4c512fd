import { StatusBadge } from './status.js';
import { cost } from '../format.js';
import { Link } from '../router.js';
import { actionsFor, describeGate, type TaskNode } from '../task-tree.js';

/**
 * The goal's tree as nested lists: a sequence is an ordered list (each step
 * waits for the one before), parallel children an unordered one. Each row
 * says what the task is, what it waits for besides its place, and how it went.
 */
export function TaskTreeView(props: { nodes: TaskNode[]; mode: 'sequential' | 'parallel'; label: string; onRetry: (id: string) => void; busy: string | null }) {
  const List = props.mode === 'sequential' ? 'ol' : 'ul';
  return (
    <List class={`tree ${props.mode}`} aria-label={props.label}>
      {props.nodes.map((node) => (
        <TaskRow key={node.task.id} node={node} onRetry={props.onRetry} busy={props.busy} />
      ))}
    </List>
  );
}

function TaskRow({ node, onRetry, busy }: { node: TaskNode; onRetry: (id: string) => void; busy: string | null }) {
  const { task } = node;
  const actions = actionsFor(task);
  return (
    <li class={`node kind-${task.kind}`} data-task-key={task.key} data-status={task.status}>
      <div class="node-row">
        <StatusBadge status={task.status} />
        <Link class="node-title" href={`/tasks/${task.id}`}>
          <span class="key">{task.key}</span> {task.title}
        </Link>
        <KindLabel node={node} />
      </div>
      <div class="node-facts">
        {node.extraDeps.length > 0 && <span>after {node.extraDeps.join(', ')}</span>}
        {task.kind === 'wait_for_signal' && <span>waits for {describeGate(task.gate)}</span>}
        {task.kind === 'wait_for_signal' && task.gate_bound !== null && task.gate_bound !== undefined && (
          <span>bound to {describeGate(task.gate_bound)}</span>
        )}
        {task.kind === 'human_review' && <span>a person approves</span>}
        {task.kind !== 'human_review' && task.requires_approval && <span>approval after the run</span>}
        {task.kind === 'agent' && task.attempt > 0 && (
          <span>
            attempt {task.attempt}/{task.max_attempts}
          </span>
        )}
        {(task.cost_usd > 0 || task.input_tokens > 0) && <span>{cost(task.cost_usd)}</span>}
      </div>
      {task.error && <p class="node-error">{task.error}</p>}
      {(actions.retry || actions.review || actions.resolveGate) && (
        <div class="node-actions">
          {actions.retry && (
            <button type="button" class="button small" disabled={busy === task.id} onClick={() => onRetry(task.id)}>
              Retry {task.key}
            </button>
          )}
          {actions.review && (
            <Link class="button small primary" href={`/tasks/${task.id}`}>
              Review {task.key}
            </Link>
          )}
          {actions.resolveGate && (
            <Link class="button small" href={`/tasks/${task.id}`}>
              Resolve gate by hand
            </Link>
          )}
        </div>
      )}
      {node.children.length > 0 && (
        <TaskTreeView nodes={node.children} mode={task.children_mode} label={`${task.key}: ${task.children_mode === 'sequential' ? 'in sequence' : 'in parallel'}`} onRetry={onRetry} busy={busy} />
      )}
    </li>
  );
}

function KindLabel({ node }: { node: TaskNode }) {
  const { task } = node;
  if (task.kind === 'group') return <span class="tag">{task.children_mode === 'sequential' ? 'group · in sequence' : 'group · in parallel'}</span>;
  if (task.kind === 'wait_for_signal') return <span class="tag">gate</span>;
  if (task.kind === 'human_review') return <span class="tag">review</span>;
  return <span class="tag">{task.route}</span>;
}
