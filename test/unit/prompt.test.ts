import { describe, expect, it } from 'vitest';
import { buildPrompt, type PromptInput } from '../../server/domain/prompt.js';

function input(overrides: Partial<PromptInput> = {}): PromptInput {
  return {
    goal: { title: 'Ship it', description: '', branch: 'arbor/ship-it-1234abcd' },
    task: { key: 't', title: 'Do the thing', instructions: 'Change x.', acceptance: null },
    parent: null,
    dependencies: [],
    previousFailure: null,
    route: 'spawned',
    talkBack: 'mcp',
    ...overrides,
  };
}

describe('buildPrompt', () => {
  it("names Arbor's MCP tools to agents that have them, and no curl", () => {
    const prompt = buildPrompt(input());
    for (const tool of ['arbor_complete', 'arbor_block', 'arbor_add_subtasks', 'arbor_report_pull_request', 'arbor_task_context']) {
      expect(prompt).toContain(`\`${tool}`);
    }
    expect(prompt).not.toContain('curl');
  });

  it('keeps the REST call for command agents', () => {
    const prompt = buildPrompt(input({ talkBack: 'rest' }));
    expect(prompt).toContain('curl -fsS -X POST "$ARBOR_API_URL/api/tasks/$ARBOR_TASK_ID/block"');
    expect(prompt).not.toContain('arbor_complete');
  });

  it('tells another attempt why the last one failed', () => {
    const reason = 'the agent exited with code 1; its stderr ended with:\nError: 529 overloaded';
    expect(buildPrompt(input({ previousFailure: reason }))).toContain(`did not succeed:\n\n${reason}`);
  });
});
