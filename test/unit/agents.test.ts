import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_LOG_LINE_CHARS,
  MAX_SUMMARY_CHARS,
  TRUNCATED_MARKER,
  createAgentAdapter,
  parseArgv,
  type AgentAdapter,
  type AgentOutputParser,
  type ParsedRun,
  type AgentSettings,
} from '../../server/sessions/agents/index.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const FAKE_CLAUDE = path.join(fixtures, 'fake-claude.mjs');
const FAKE_CODEX = path.join(fixtures, 'fake-codex.mjs');

function settings(overrides: Partial<AgentSettings> = {}): AgentSettings {
  return {
    claude: { bin: 'claude', permissionMode: 'acceptEdits', extraArgs: [] },
    codex: { bin: 'codex', sandbox: 'workspace-write', extraArgs: [] },
    command: { argv: [] },
    ...overrides,
  };
}

const NEW_ID = '7f9c1a52-3b1e-4d7a-9a51-0c2d3e4f5a6b';

function feed(parser: AgentOutputParser, lines: string[], stream: 'stdout' | 'stderr' = 'stdout') {
  return lines.map((line) => parser.line(stream, line));
}

describe('parseArgv', () => {
  it('splits on whitespace', () => {
    expect(parseArgv('')).toEqual([]);
    expect(parseArgv('   ')).toEqual([]);
    expect(parseArgv('--model  opus\t--verbose\n-x')).toEqual(['--model', 'opus', '--verbose', '-x']);
  });

  it('honours single and double quotes and backslashes', () => {
    expect(parseArgv(`node 'my agent.mjs' "a \\"b\\" c"`)).toEqual(['node', 'my agent.mjs', 'a "b" c']);
    expect(parseArgv(`--append-system-prompt="Be brief." x`)).toEqual(['--append-system-prompt=Be brief.', 'x']);
    expect(parseArgv(`'' "" a`)).toEqual(['', '', 'a']);
    expect(parseArgv(`'it''s' "\\n" a\\ b`)).toEqual(['its', '\\n', 'a b']);
    expect(parseArgv(`'$HOME "x"'`)).toEqual(['$HOME "x"']);
  });

  it('accepts a JSON array', () => {
    expect(parseArgv(' ["node", "my agent.mjs", ""] ')).toEqual(['node', 'my agent.mjs', '']);
    expect(parseArgv('[]')).toEqual([]);
  });

  it('throws on unbalanced quotes and bad JSON', () => {
    expect(() => parseArgv(`node 'oops`)).toThrow(/unbalanced single quote/);
    expect(() => parseArgv(`node "oops`)).toThrow(/unbalanced double quote/);
    expect(() => parseArgv('["node", 1]')).toThrow(/array of strings/);
    expect(() => parseArgv('[node')).toThrow(/JSON/);
  });
});

describe('createAgentAdapter', () => {
  it('builds each adapter with its resumability', () => {
    const s = settings();
    expect(createAgentAdapter('claude', s)).toMatchObject({ name: 'claude', resumable: true });
    expect(createAgentAdapter('codex', s)).toMatchObject({ name: 'codex', resumable: true });
    expect(createAgentAdapter('command', s)).toMatchObject({ name: 'command', resumable: false });
  });
});

describe('claude launch', () => {
  it('starts a new conversation with --session-id and the prompt on stdin', () => {
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: '/opt/claude', permissionMode: 'acceptEdits', extraArgs: ['--model', 'opus'] } }));
    const launch = adapter.launch({ prompt: 'do the thing', conversationId: null, newConversationId: NEW_ID });
    expect(launch).toEqual({
      file: '/opt/claude',
      args: ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--session-id', NEW_ID, '--model', 'opus'],
      stdin: 'do the thing',
    });
  });

  it('resumes the pinned conversation with --resume and never passes --session-id with it', () => {
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: 'claude', permissionMode: 'bypassPermissions', extraArgs: [] } }));
    const launch = adapter.launch({ prompt: 'next task', conversationId: 'abc-123', newConversationId: NEW_ID });
    expect(launch.args).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'bypassPermissions', '--resume', 'abc-123']);
    expect(launch.args).not.toContain('--session-id');
  });

  it('omits an empty permission mode and refuses a non-uuid new id', () => {
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: 'claude', permissionMode: '', extraArgs: [] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID }).args).not.toContain('--permission-mode');
    expect(() => adapter.launch({ prompt: 'p', conversationId: null, newConversationId: 'not-a-uuid' })).toThrow(/UUID/);
  });

  it('keeps a huge prompt out of argv', () => {
    const prompt = 'x'.repeat(2_000_000);
    const launch = createAgentAdapter('claude', settings()).launch({ prompt, conversationId: null, newConversationId: NEW_ID });
    expect(launch.stdin).toBe(prompt);
    expect(launch.args.join(' ').length).toBeLessThan(200);
  });
});

describe('codex launch', () => {
  it('runs exec --json with the sandbox mode and - for stdin', () => {
    const adapter = createAgentAdapter('codex', settings({ codex: { bin: '/usr/bin/codex', sandbox: 'workspace-write', extraArgs: ['--skip-git-repo-check'] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID })).toEqual({
      file: '/usr/bin/codex',
      args: ['exec', '--json', '--sandbox', 'workspace-write', '--skip-git-repo-check', '-'],
      stdin: 'p',
    });
  });

  it('resumes with exec options before the resume subcommand', () => {
    const adapter = createAgentAdapter('codex', settings({ codex: { bin: 'codex', sandbox: 'read-only', extraArgs: ['-m', 'gpt-5'] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: 'th-1', newConversationId: NEW_ID }).args).toEqual([
      'exec', '--json', '--sandbox', 'read-only', '-m', 'gpt-5', 'resume', 'th-1', '-',
    ]);
  });

  it('omits an empty sandbox mode', () => {
    const adapter = createAgentAdapter('codex', settings({ codex: { bin: 'codex', sandbox: ' ', extraArgs: [] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID }).args).toEqual(['exec', '--json', '-']);
  });
});

describe('talking back through MCP, unattended', () => {
  const mcp = { url: 'http://127.0.0.1:8080/mcp', tokenEnv: 'ARBOR_TASK_TOKEN' };

  it('claude: Arbor as the only MCP server, its tools and the configured ones allowed, the token named not given', () => {
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: 'claude', permissionMode: 'acceptEdits', allowedTools: ['Bash', 'WebFetch'], extraArgs: [] } }));
    const { args } = adapter.launch({ prompt: 'p', conversationId: 'conv-1', newConversationId: NEW_ID, mcp, writableDirs: ['/repo/.git'] });
    const config = JSON.parse(args[args.indexOf('--mcp-config') + 1] as string);
    expect(config).toEqual({
      mcpServers: { arbor: { type: 'http', url: 'http://127.0.0.1:8080/mcp', headers: { Authorization: 'Bearer ${ARBOR_TASK_TOKEN}' } } },
    });
    expect(args).toContain('--strict-mcp-config');
    expect(args[args.indexOf('--allowedTools') + 1]).toBe(
      'mcp__arbor__arbor_complete,mcp__arbor__arbor_block,mcp__arbor__arbor_add_subtasks,mcp__arbor__arbor_report_pull_request,mcp__arbor__arbor_task_context,Bash,WebFetch',
    );
    // The variadic flags are followed by an option, never by a word they could swallow.
    expect(args.slice(args.indexOf('--allowedTools') + 2)).toEqual(['--resume', 'conv-1']);
  });

  it('claude without MCP (no launch input) keeps the old argv, plus the allowed tools', () => {
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: 'claude', permissionMode: 'acceptEdits', allowedTools: ['Bash'], extraArgs: [] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID }).args).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', '--session-id', NEW_ID,
    ]);
  });

  it('codex: Arbor through -c overrides, required and approved, and the git dirs writable, before resume', () => {
    const adapter = createAgentAdapter('codex', settings());
    const { args } = adapter.launch({ prompt: 'p', conversationId: 'th-1', newConversationId: NEW_ID, mcp, writableDirs: ['/repo/.git/worktrees/goal', '/repo/.git'] });
    expect(args).toEqual([
      'exec', '--json', '--sandbox', 'workspace-write',
      '-c', 'mcp_servers.arbor.url="http://127.0.0.1:8080/mcp"',
      '-c', 'mcp_servers.arbor.bearer_token_env_var="ARBOR_TASK_TOKEN"',
      '-c', 'mcp_servers.arbor.required=true',
      '-c', 'mcp_servers.arbor.default_tools_approval_mode="approve"',
      '--add-dir', '/repo/.git/worktrees/goal', '--add-dir', '/repo/.git',
      'resume', 'th-1', '-',
    ]);
  });

  it('codex: no writable dirs outside the workspace-write sandbox', () => {
    const adapter = createAgentAdapter('codex', settings({ codex: { bin: 'codex', sandbox: 'danger-full-access', extraArgs: [] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID, mcp: null, writableDirs: ['/repo/.git'] }).args).toEqual([
      'exec', '--json', '--sandbox', 'danger-full-access', '-',
    ]);
  });

  it('says which agents talk back through MCP', () => {
    const s = settings({ command: { argv: ['x'] } });
    expect(createAgentAdapter('claude', s).usesMcp).toBe(true);
    expect(createAgentAdapter('codex', s).usesMcp).toBe(true);
    expect(createAgentAdapter('command', s).usesMcp).toBe(false);
  });
});

describe('command launch', () => {
  it('runs the configured argv with the prompt on stdin, never resuming', () => {
    const adapter = createAgentAdapter('command', settings({ command: { argv: ['node', 'agent.mjs', '--flag'] } }));
    expect(adapter.launch({ prompt: 'p', conversationId: 'ignored', newConversationId: NEW_ID })).toEqual({
      file: 'node',
      args: ['agent.mjs', '--flag'],
      stdin: 'p',
    });
  });

  it('fails clearly when no command is configured', () => {
    const adapter = createAgentAdapter('command', settings());
    expect(() => adapter.launch({ prompt: 'p', conversationId: null, newConversationId: NEW_ID })).toThrow('ARBOR_AGENT_COMMAND is not set');
  });
});

const CLAUDE_SESSION = '8a4b5c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const claudeLines = {
  init: JSON.stringify({
    type: 'system', subtype: 'init', cwd: '/work/tree', session_id: CLAUDE_SESSION, tools: ['Bash', 'Edit'],
    mcp_servers: [], model: 'claude-sonnet-4-5', permissionMode: 'acceptEdits', apiKeySource: 'none', uuid: 'u1',
  }),
  text: JSON.stringify({
    type: 'assistant',
    message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'Let me look at the tests.' }], usage: { input_tokens: 4, output_tokens: 9 } },
    parent_tool_use_id: null, session_id: CLAUDE_SESSION, uuid: 'u2',
  }),
  toolUse: JSON.stringify({
    type: 'assistant',
    message: { id: 'msg_2', type: 'message', role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'npm test', description: 'Run tests' } }] },
    parent_tool_use_id: null, session_id: CLAUDE_SESSION, uuid: 'u3',
  }),
  toolResult: JSON.stringify({
    type: 'user',
    message: { role: 'user', content: [{ tool_use_id: 'toolu_1', type: 'tool_result', content: '12 passed', is_error: false }] },
    parent_tool_use_id: null, session_id: CLAUDE_SESSION, uuid: 'u4',
  }),
  success: JSON.stringify({
    type: 'result', subtype: 'success', is_error: false, duration_ms: 12_345, duration_api_ms: 11_000, num_turns: 4,
    result: 'Fixed the flaky test and committed.', session_id: CLAUDE_SESSION, total_cost_usd: 0.1234,
    usage: { input_tokens: 10, cache_creation_input_tokens: 200, cache_read_input_tokens: 3000, output_tokens: 456, service_tier: 'standard' },
    permission_denials: [], uuid: 'u5',
  }),
};

describe('claude stream-json parser', () => {
  it('renders events readably and reports the final result', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    const out = feed(parser, [claudeLines.init, claudeLines.text, claudeLines.toolUse, claudeLines.toolResult]);
    expect(out[0]).toEqual({ stream: 'event', text: expect.stringMatching(/^system: init session 8a4b5c6d.*cwd \/work\/tree/) });
    expect(out[1]).toEqual({ stream: 'event', text: 'assistant: Let me look at the tests.' });
    expect(out[2]).toEqual({ stream: 'event', text: 'tool: Bash {"command":"npm test","description":"Run tests"}' });
    expect(out[3]).toEqual({ stream: 'event', text: 'tool result: 12 passed' });
    expect(parser.report().finished).toBe(false);
    expect(parser.report().conversationId).toBe(CLAUDE_SESSION);

    const result = parser.line('stdout', claudeLines.success);
    expect(result.stream).toBe('event');
    expect(result.text).toMatch(/^result: success \$0\.1234 \(in 3210 \/ out 456 tokens, 4 turns, 12\.3s\)$/);
    expect(parser.report()).toEqual<ParsedRun>({
      conversationId: CLAUDE_SESSION,
      summary: 'Fixed the flaky test and committed.',
      costUsd: 0.1234,
      inputTokens: 3210,
      outputTokens: 456,
      cumulative: { costUsd: true, tokens: false },
      permissionDenials: [],
      stderrTail: null,
      success: true,
      error: null,
      finished: true,
    });
  });

  it('passes stderr, plain text and malformed JSON through untouched, without throwing', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    expect(parser.line('stderr', 'Error: something odd')).toEqual({ stream: 'stderr', text: 'Error: something odd' });
    expect(parser.line('stdout', '{"type":"assistant","message":')).toEqual({ stream: 'stdout', text: '{"type":"assistant","message":' });
    expect(parser.line('stdout', 'plain text\r')).toEqual({ stream: 'stdout', text: 'plain text' });
    expect(parser.line('stdout', '[1,2,3]')).toEqual({ stream: 'stdout', text: '[1,2,3]' });
    expect(parser.line('stdout', '')).toEqual({ stream: 'stdout', text: '' });
    // Structurally odd but valid JSON is still handled.
    expect(() => parser.line('stdout', '{"type":"assistant","message":{"content":"oops"}}')).not.toThrow();
    expect(() => parser.line('stdout', '{"type":"result","usage":[],"errors":{}}')).not.toThrow();
    const unknown = parser.line('stdout', '{"type":"rate_limit_event","session_id":"s-2"}');
    expect(unknown).toEqual({ stream: 'event', text: '{"type":"rate_limit_event","session_id":"s-2"}' });
    expect(parser.report().conversationId).toBe('s-2');
  });

  it('reports an error result as a failure with its text', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    feed(parser, [claudeLines.init, claudeLines.text]);
    const line = parser.line('stdout', JSON.stringify({
      type: 'result', subtype: 'error_during_execution', is_error: true, num_turns: 2, session_id: CLAUDE_SESSION,
      total_cost_usd: 0.02, usage: { input_tokens: 5, output_tokens: 6 }, errors: ['No conversation found with session ID: x'],
    }));
    expect(line.text).toMatch(/^result: error_during_execution \$0\.0200 .*— No conversation found/);
    expect(parser.report()).toMatchObject({
      success: false,
      finished: true,
      error: 'No conversation found with session ID: x',
      // A failed run has no summary: its last message was progress, the error says what happened.
      summary: null,
      costUsd: 0.02,
      inputTokens: 5,
      outputTokens: 6,
    });
  });

  it('treats is_error on a success subtype as a failure', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    parser.line('stdout', JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: 'Credit balance is too low', session_id: 's', total_cost_usd: 0 }));
    expect(parser.report()).toMatchObject({ success: false, error: 'Credit balance is too low', summary: null, finished: true });
  });

  it('leaves tokens unknown when the result has no usage', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    parser.line('stdout', JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', session_id: 's' }));
    expect(parser.report()).toMatchObject({ success: true, inputTokens: null, outputTokens: null, costUsd: null, summary: 'ok' });
  });

  it('reports nothing final before a result', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    expect(parser.report()).toEqual<ParsedRun>({
      conversationId: null, summary: null, costUsd: null, inputTokens: null, outputTokens: null,
      cumulative: { costUsd: true, tokens: false }, permissionDenials: [], stderrTail: null, success: null, error: null, finished: false,
    });
  });

  it('bounds log lines and summaries', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    const long = parser.line('stdout', 'y'.repeat(50_000));
    expect(long.text.length).toBe(MAX_LOG_LINE_CHARS);
    expect(long.text.endsWith(TRUNCATED_MARKER)).toBe(true);
    const huge = 'z'.repeat(100_000);
    const rendered = parser.line('stdout', JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: huge, session_id: 's' }));
    expect(rendered.text.length).toBeLessThanOrEqual(MAX_LOG_LINE_CHARS);
    const summary = parser.report().summary ?? '';
    expect(summary.length).toBe(MAX_SUMMARY_CHARS);
    expect(summary.endsWith(TRUNCATED_MARKER)).toBe(true);
    expect(parser.line('stderr', 'e'.repeat(9000)).text.length).toBe(MAX_LOG_LINE_CHARS);
  });
});

describe('claude denials and failures', () => {
  it('records permission denials, in the report and the log line', () => {
    const parser = createAgentAdapter('claude', settings()).parser();
    const line = parser.line('stdout', JSON.stringify({
      type: 'result', subtype: 'success', is_error: false, result: 'Could not run the tests.', session_id: 's', total_cost_usd: 0.01,
      permission_denials: [{ tool_name: 'Bash', tool_use_id: 't1', tool_input: { command: 'npm test' } }, { tool_name: 'WebFetch', tool_use_id: 't2', tool_input: {} }],
    }));
    expect(line.text).toContain('permission denied: Bash {"command":"npm test"}; WebFetch {}');
    expect(parser.report().permissionDenials).toEqual([{ tool: 'Bash', input: { command: 'npm test' } }, { tool: 'WebFetch', input: {} }]);
  });

  it('keeps the tail of stderr, and the last error line a stack trace pushed out', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    parser.line('stderr', 'starting up');
    parser.line('stderr', 'Error: thread/start failed: required MCP servers failed to initialize');
    for (let i = 0; i < 12; i += 1) parser.line('stderr', `   ${i}: <unknown>`);
    const tail = parser.report().stderrTail ?? '';
    expect(tail.startsWith('Error: thread/start failed: required MCP servers failed to initialize\n…\n')).toBe(true);
    expect(tail.endsWith('   11: <unknown>')).toBe(true);
    expect(tail).not.toContain('starting up');
  });
});

const THREAD = '0199a213-81c0-7800-8aa1-bbab2a035a53';
const codexLines = [
  `{"type":"thread.started","thread_id":"${THREAD}"}`,
  '{"type":"turn.started"}',
  '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Searching for README files**"}}',
  '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"README.md\\nsrc\\n","exit_code":0,"status":"completed"}}',
  '{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"src/a.ts","kind":"update"}],"status":"completed"}}',
  '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Yep — there is a README.md in the repository root."}}',
];

describe('codex --json parser', () => {
  it('renders events and reports the thread, last message and usage', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    const out = feed(parser, codexLines);
    expect(out.map((o) => o.stream)).toEqual(Array(codexLines.length).fill('event'));
    expect(out.map((o) => o.text)).toEqual([
      `thread started ${THREAD}`,
      'turn started',
      'reasoning: **Searching for README files**',
      'command: bash -lc ls',
      'command: bash -lc ls (completed, exit 0)\nREADME.md\nsrc',
      'file change: update src/a.ts (completed)',
      'assistant: Yep — there is a README.md in the repository root.',
    ]);
    expect(parser.report().finished).toBe(false);
    const done = parser.line('stdout', '{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}');
    expect(done).toEqual({ stream: 'event', text: 'turn completed (in 24763 [24448 cached] / out 122 tokens)' });
    expect(parser.report()).toEqual<ParsedRun>({
      conversationId: THREAD,
      summary: 'Yep — there is a README.md in the repository root.',
      costUsd: null,
      inputTokens: 24763,
      outputTokens: 122,
      cumulative: { costUsd: false, tokens: true },
      permissionDenials: [],
      stderrTail: null,
      success: true,
      error: null,
      finished: true,
    });
  });

  it('reports a failed turn', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    feed(parser, [codexLines[0] as string, '{"type":"turn.started"}', '{"type":"error","message":"stream disconnected before completion"}']);
    expect(parser.report()).toMatchObject({ success: false, error: 'stream disconnected before completion', finished: false });
    const failed = parser.line('stdout', '{"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized"}}');
    expect(failed).toEqual({ stream: 'event', text: 'turn failed: unexpected status 401 Unauthorized' });
    expect(parser.report()).toMatchObject({
      conversationId: THREAD, success: false, error: 'unexpected status 401 Unauthorized', finished: true, inputTokens: null, summary: null,
    });
  });

  it('lets a completed turn outweigh an earlier retried error, and copes with missing usage', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    feed(parser, ['{"type":"error","message":"Reconnecting... 1/5"}', '{"type":"turn.completed"}']);
    expect(parser.report()).toMatchObject({ success: true, error: null, finished: true, inputTokens: null, outputTokens: null });
  });

  it('reports running totals after a resume as they are, marked cumulative, and no summary for a failed turn', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    feed(parser, [codexLines[0] as string, '{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"Looking at the tests."}}']);
    parser.line('stdout', '{"type":"turn.failed","error":{"message":"We\'re currently experiencing high demand"}}');
    expect(parser.report()).toMatchObject({ summary: null, cumulative: { tokens: true, costUsd: false } });
  });

  it('passes stderr and malformed lines through', () => {
    const parser = createAgentAdapter('codex', settings()).parser();
    expect(parser.line('stderr', 'WARN codex_core: something')).toEqual({ stream: 'stderr', text: 'WARN codex_core: something' });
    expect(parser.line('stdout', '{"type":"thread.started",')).toEqual({ stream: 'stdout', text: '{"type":"thread.started",' });
    expect(parser.line('stdout', '{"no_type":true}')).toEqual({ stream: 'stdout', text: '{"no_type":true}' });
    expect(() => parser.line('stdout', '{"type":"item.completed","item":"weird"}')).not.toThrow();
    expect(() => parser.line('stdout', '{"type":"turn.failed","error":null}')).not.toThrow();
    expect(parser.report().success).toBe(false);
  });
});

describe('command parser', () => {
  it('logs lines as they are and leaves the verdict to the exit code', () => {
    const parser = createAgentAdapter('command', settings({ command: { argv: ['x'] } })).parser();
    expect(parser.line('stdout', '{"type":"result"}')).toEqual({ stream: 'stdout', text: '{"type":"result"}' });
    expect(parser.line('stderr', 'warning')).toEqual({ stream: 'stderr', text: 'warning' });
    parser.line('stdout', 'all done');
    expect(parser.report()).toEqual<ParsedRun>({
      conversationId: null, summary: '{"type":"result"}\nall done', costUsd: null, inputTokens: null, outputTokens: null,
      cumulative: { costUsd: false, tokens: false }, permissionDenials: [], stderrTail: 'warning', success: null, error: null, finished: false,
    });
  });
});

// --- The fake CLIs, spawned for real -------------------------------------------------------

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempRepo(): { dir: string; logFile: string; stateDir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'arbor-agents-'));
  tempDirs.push(root);
  const dir = path.join(root, 'repo');
  fs.mkdirSync(dir);
  const git = spawnSync('git', ['init', '-q', '.'], { cwd: dir, encoding: 'utf8' });
  expect(git.status).toBe(0);
  return { dir, logFile: path.join(root, 'agent-log.jsonl'), stateDir: path.join(root, 'state') };
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.CLAUDECODE;
  env.GIT_AUTHOR_NAME = env.GIT_COMMITTER_NAME = 'Arbor Test';
  env.GIT_AUTHOR_EMAIL = env.GIT_COMMITTER_EMAIL = 'arbor@example.invalid';
  return env;
}

function run(adapter: AgentAdapter, prompt: string, conversationId: string | null, cwd: string, env: NodeJS.ProcessEnv) {
  const launch = adapter.launch({ prompt, conversationId, newConversationId: randomUUID() });
  const child = spawnSync(launch.file, launch.args, { cwd, env, input: launch.stdin, encoding: 'utf8', timeout: 20_000 });
  const parser = adapter.parser();
  const logs = [
    ...child.stdout.split('\n').filter((l) => l !== '').map((l) => parser.line('stdout', l)),
    ...child.stderr.split('\n').filter((l) => l !== '').map((l) => parser.line('stderr', l)),
  ];
  return { launch, status: child.status, logs, report: parser.report() };
}

function transcript(file: string): Array<Record<string, unknown>> {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('fake claude, spawned', () => {
  it('runs a new conversation, then resumes it from the same directory', () => {
    const { dir, logFile, stateDir } = tempRepo();
    const env = childEnv({ FAKE_AGENT_LOG: logFile, FAKE_AGENT_STATE: stateDir, ARBOR_TASK_ID: 'task-1' });
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: FAKE_CLAUDE, permissionMode: 'acceptEdits', extraArgs: ['--model', 'fake'] } }));
    const filler = 'context line\n'.repeat(20_000); // ~260 KB: far past any argv limit
    const prompt = `${filler}Task: add a file.\nFAKE: write notes/a.txt hello\nFAKE: commit Add a.txt\nFAKE: env\nFAKE: summary Added notes/a.txt\nFAKE: cost 0.25\nFAKE: tokens 1200 345\n`;

    const first = run(adapter, prompt, null, dir, env);
    expect(first.status).toBe(0);
    const newId = first.launch.args[first.launch.args.indexOf('--session-id') + 1];
    expect(first.report).toEqual<ParsedRun>({
      conversationId: newId as string,
      summary: 'Added notes/a.txt',
      costUsd: 0.25,
      inputTokens: 1200,
      outputTokens: 345,
      cumulative: { costUsd: true, tokens: false },
      permissionDenials: [],
      stderrTail: null,
      success: true,
      error: null,
      finished: true,
    });
    expect(fs.readFileSync(path.join(dir, 'notes/a.txt'), 'utf8')).toBe('hello');
    expect(spawnSync('git', ['log', '--format=%s'], { cwd: dir, encoding: 'utf8' }).stdout.trim()).toBe('Add a.txt');
    const texts = first.logs.map((l) => l.text);
    expect(texts).toContain(`tool: Write {"file_path":"${path.join(dir, 'notes/a.txt')}","content":"hello"}`);
    expect(texts.some((t) => t.includes('ARBOR_TASK_ID=task-1') && t.includes('CLAUDECODE=unset'))).toBe(true);
    expect(first.logs.every((l) => l.stream === 'event')).toBe(true);

    const second = run(adapter, 'Next task.\nFAKE: say resumed', first.report.conversationId, dir, env);
    expect(second.status).toBe(0);
    expect(second.report).toMatchObject({ conversationId: newId, success: true, finished: true, summary: 'Done: 1 directive(s) applied.' });

    const calls = transcript(logFile);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ sessionId: newId, resume: null, permissionMode: 'acceptEdits', cwd: dir, promptBytes: Buffer.byteLength(prompt) });
    expect(calls[1]).toMatchObject({ sessionId: null, resume: newId, cwd: dir });
  });

  it('reports a failure result and a non-zero exit', () => {
    const { dir } = tempRepo();
    const adapter = createAgentAdapter('claude', settings({ claude: { bin: FAKE_CLAUDE, permissionMode: '', extraArgs: [] } }));
    const result = run(adapter, 'FAKE: fail could not finish\nFAKE: stderr oh no', null, dir, childEnv({}));
    expect(result.status).toBe(1);
    expect(result.report).toMatchObject({ success: false, finished: true, error: 'could not finish', costUsd: 0.01 });
    expect(result.logs).toContainEqual({ stream: 'stderr', text: 'oh no' });
  });
});

describe('fake codex, spawned', () => {
  it('runs a new thread, then resumes it', () => {
    const { dir, logFile, stateDir } = tempRepo();
    const env = childEnv({ FAKE_AGENT_LOG: logFile, FAKE_AGENT_STATE: stateDir });
    const adapter = createAgentAdapter('codex', settings({ codex: { bin: FAKE_CODEX, sandbox: 'workspace-write', extraArgs: ['--skip-git-repo-check'] } }));

    const first = run(adapter, 'Task.\nFAKE: write b.txt bee\nFAKE: commit Add b\nFAKE: summary Wrote b.txt\nFAKE: tokens 900 80', null, dir, env);
    expect(first.status).toBe(0);
    expect(first.report).toMatchObject({ summary: 'Wrote b.txt', costUsd: null, inputTokens: 900, outputTokens: 80, success: true, error: null, finished: true });
    const threadId = first.report.conversationId;
    expect(threadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.logs.map((l) => l.text)).toContain(`file change: add ${path.join(dir, 'b.txt')} (completed)`);
    expect(spawnSync('git', ['log', '--format=%s'], { cwd: dir, encoding: 'utf8' }).stdout.trim()).toBe('Add b');

    const second = run(adapter, 'Next.\nFAKE: fail tests still red', threadId, dir, env);
    expect(second.status).toBe(1);
    expect(second.report).toMatchObject({ conversationId: threadId, success: false, error: 'tests still red', finished: true });

    const calls = transcript(logFile);
    expect(calls[0]).toMatchObject({ resume: false, sandbox: 'workspace-write', json: true, cwd: dir });
    expect(calls[1]).toMatchObject({ resume: true, threadId, sandbox: 'workspace-write' });
  });
});
