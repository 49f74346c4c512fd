import { StringDecoder } from 'node:string_decoder';
import { storableText } from '../domain/storable-text.js';

/** Longest piece delivered as one line, in UTF-16 code units; longer lines are split. */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Turns a byte stream into lines: complete lines are delivered without their
 * newline (a `\r` before it is dropped too), UTF-8 sequences split across
 * chunks are decoded whole, and a line longer than MAX_LINE_LENGTH is
 * delivered in pieces of at most that length. `end()` delivers a final
 * unterminated line. Every line is storable text (NUL and lone surrogates
 * become U+FFFD): agent output enters here, and one odd byte must not make
 * its logs, summary or result unwritable further in.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  private readonly deliver: (line: string) => void;

  constructor(deliver: (line: string) => void) {
    this.deliver = (line) => deliver(storableText(line));
  }

  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    if (text.length > 0) this.take(text);
  }

  end(): void {
    const rest = this.decoder.end();
    if (rest.length > 0) this.take(rest);
    if (this.pending.length > 0) {
      const last = this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending;
      this.pending = '';
      this.deliver(last);
    }
  }

  private take(text: string): void {
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      let line = text.slice(start, newline);
      if (this.pending.length > 0) {
        line = this.pending + line;
        this.pending = '';
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.deliverSplit(line);
      start = newline + 1;
    }
    if (start < text.length) {
      this.pending += text.slice(start);
      // Keep what is held back bounded: emit full pieces of an over-long line now.
      while (this.pending.length > MAX_LINE_LENGTH) {
        const cut = pieceEnd(this.pending);
        this.deliver(this.pending.slice(0, cut));
        this.pending = this.pending.slice(cut);
      }
    }
  }

  private deliverSplit(line: string): void {
    let rest = line;
    while (rest.length > MAX_LINE_LENGTH) {
      const cut = pieceEnd(rest);
      this.deliver(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    this.deliver(rest);
  }
}

/** Where to cut a piece off an over-long line without splitting a surrogate pair. */
function pieceEnd(text: string): number {
  const code = text.charCodeAt(MAX_LINE_LENGTH - 1);
  return code >= 0xd800 && code <= 0xdbff ? MAX_LINE_LENGTH - 1 : MAX_LINE_LENGTH;
}
