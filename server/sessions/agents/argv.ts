/**
 * Splits a config string (ARBOR_CLAUDE_ARGS, ARBOR_AGENT_COMMAND, ...) into argv.
 *
 * - A value starting with `[` is a JSON array of strings: `["node", "my agent.mjs"]`.
 * - Otherwise words are separated by whitespace, with a small subset of shell quoting:
 *   `'single quotes'` keep everything literally; `"double quotes"` keep everything but
 *   `\"`, `\\`, `\$` and `` \` ``, which lose their backslash; outside quotes a backslash
 *   keeps the next character literally. Quotes join with adjacent text (`--x="a b"` is one
 *   word) and `''` is an empty word. No variables, globs or other expansion.
 *
 * Throws on unbalanced quotes and on JSON that is not an array of strings.
 */
export function parseArgv(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) return parseJsonArgv(trimmed);

  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < value.length) {
    const ch = value[i] as string;
    if (/\s/.test(ch)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i += 1;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = value.indexOf("'", i + 1);
      if (end === -1) throw new Error(`unbalanced single quote in: ${value}`);
      word += value.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i += 1;
      let closed = false;
      while (i < value.length) {
        const c = value[i] as string;
        if (c === '"') {
          closed = true;
          i += 1;
          break;
        }
        const next = value[i + 1];
        if (c === '\\' && next !== undefined && '"\\$`'.includes(next)) {
          word += next;
          i += 2;
        } else {
          word += c;
          i += 1;
        }
      }
      if (!closed) throw new Error(`unbalanced double quote in: ${value}`);
    } else if (ch === '\\') {
      const next = value[i + 1];
      word += next ?? '\\';
      i += next === undefined ? 1 : 2;
    } else {
      word += ch;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function parseJsonArgv(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`not a valid JSON array of strings: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === 'string')) {
    throw new Error('a JSON argv must be an array of strings');
  }
  return parsed;
}
