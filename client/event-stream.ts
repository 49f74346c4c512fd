/**
 * Reading a text/event-stream body (the Server-Sent Events format): messages
 * of `id:`, `event:` and `data:` lines ended by a blank line, and `:` comments
 * (Arbor's `: connected` and `: ping`).
 */

export type StreamItem =
  | { kind: 'message'; id: string | null; event: string; data: string }
  | { kind: 'comment'; text: string };

export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamItem> {
  const decoder = new TextDecoder();
  let buffer = '';
  let fields = emptyMessage();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        const item = parseLine(line, fields);
        if (item === 'dispatch') {
          if (fields.data !== null) yield { kind: 'message', id: fields.id, event: fields.event ?? 'message', data: fields.data };
          fields = emptyMessage();
        } else if (item) {
          yield item;
        }
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

interface PendingMessage {
  id: string | null;
  event: string | null;
  data: string | null;
}

function emptyMessage(): PendingMessage {
  return { id: null, event: null, data: null };
}

/** One line into the message being read; 'dispatch' at its blank line, a comment item for `:` lines. */
export function parseLine(line: string, message: PendingMessage): StreamItem | 'dispatch' | null {
  if (line === '') return 'dispatch';
  if (line.startsWith(':')) return { kind: 'comment', text: line.slice(1).replace(/^ /, '') };
  const colon = line.indexOf(':');
  const name = colon < 0 ? line : line.slice(0, colon);
  const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
  if (name === 'data') message.data = message.data === null ? value : `${message.data}\n${value}`;
  else if (name === 'event') message.event = value;
  else if (name === 'id') message.id = value;
  return null;
}
