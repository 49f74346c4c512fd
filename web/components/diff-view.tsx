import { useState } from 'preact/hooks';
import type { TaskDiff } from '../types.js';

/** Lines drawn before the reader asks for the rest: a huge diff must not freeze a phone. */
const SHOWN_LINES = 4000;

interface FilePatch {
  path: string;
  lines: string[];
}

/** Cuts a unified diff into one part per file (at each `diff --git`). */
export function splitPatch(patch: string): FilePatch[] {
  const files: FilePatch[] = [];
  for (const line of patch.split('\n')) {
    const header = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
    if (header) files.push({ path: header[2]!, lines: [line] });
    else if (files.length > 0) files[files.length - 1]!.lines.push(line);
    else if (line !== '') files.push({ path: '', lines: [line] });
  }
  return files;
}

function lineClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff --git') || line.startsWith('index ')) return 'meta';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return '';
}

export function DiffView({ diff }: { diff: TaskDiff }) {
  const [all, setAll] = useState(false);
  if (!diff.branch) return <p class="muted">No branch yet: the task has not run.</p>;
  if (diff.note) return <p class="muted">{diff.note}</p>;
  if (diff.files.length === 0 && diff.patch === '') return <p class="muted">No changes on <code>{diff.branch}</code>.</p>;
  const files = splitPatch(diff.patch);
  let budget = all ? Number.POSITIVE_INFINITY : SHOWN_LINES;
  return (
    <div class="diff">
      <p class="muted">
        <code>{diff.branch}</code> against {diff.base_sha ? <code>{diff.base_sha.slice(0, 10)}</code> : 'its start'}
        {diff.head_sha && (
          <>
            {' '}
            (head <code>{diff.head_sha.slice(0, 10)}</code>)
          </>
        )}
      </p>
      <table class="diff-files">
        <caption class="sr-only">Files changed</caption>
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Change</th>
            <th scope="col">
              <span class="sr-only">Lines added</span>+
            </th>
            <th scope="col">
              <span class="sr-only">Lines removed</span>−
            </th>
          </tr>
        </thead>
        <tbody>
          {diff.files.map((f) => (
            <tr key={f.path}>
              <td>
                {f.old_path && f.old_path !== f.path && (
                  <>
                    <code>{f.old_path}</code> →{' '}
                  </>
                )}
                <code>{f.path}</code>
              </td>
              <td>{f.binary ? `${f.status}, binary` : f.status}</td>
              <td class="add-count">+{f.additions}</td>
              <td class="del-count">−{f.deletions}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {files.map((file, i) => {
        if (budget <= 0) return null;
        const shown = file.lines.slice(0, budget);
        budget -= shown.length;
        return (
          <section key={i} class="diff-file" aria-label={`changes to ${file.path}`}>
            <h3>
              <code>{file.path}</code>
            </h3>
            <pre tabIndex={0}>
              {shown.map((line, j) => (
                // Block spans break the lines themselves; an empty line keeps its height.
                <span key={j} class={`diff-line ${lineClass(line)}`}>
                  {line || ' '}
                </span>
              ))}
            </pre>
          </section>
        );
      })}
      {budget <= 0 && !all && (
        <button type="button" class="button" onClick={() => setAll(true)}>
          Show the whole diff
        </button>
      )}
      {diff.truncated && <p class="notice">The server cut this diff short; see the branch for the rest.</p>}
    </div>
  );
}
