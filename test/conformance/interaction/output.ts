// The interaction env's output buffer, which is also the raft Logger of every node (Go's
// RedirectLogger): leveled `LEVEL text` lines, total silence at level NONE (harness output
// included), and indented sections whose lines come back prefixed with two spaces.
import type { Logger } from '../../../src/raft/logger.js';
import { RaftPanic } from '../../../src/raft/logger.js';
import { goQuote } from '../../../src/raft/util.js';
import type { EntryFormatter } from '../../../src/raft/util.js';

/** Entry payloads print as Go's %q. */
export const defaultEntryFormatter: EntryFormatter = goQuote;

export const LEVEL_NAMES = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'NONE'] as const;
export const LEVEL_DEBUG = 0;
export const LEVEL_INFO = 1;
export const LEVEL_WARN = 2;
export const LEVEL_ERROR = 3;
export const LEVEL_FATAL = 4;
export const LEVEL_NONE = 5;

export class OutputBuffer implements Logger {
  /** Messages at a level below this are dropped; NONE drops every write. */
  lvl = LEVEL_DEBUG;
  private text = '';

  quiet(): boolean {
    return this.lvl === LEVEL_NONE;
  }

  write(s: string): void {
    if (this.lvl !== LEVEL_NONE) this.text += s;
  }

  get length(): number {
    return this.text.length;
  }

  reset(): void {
    this.text = '';
  }

  toString(): string {
    return this.text;
  }

  /**
   * Runs `f` against a fresh buffer, then copies its lines back indented by two spaces. The copy
   * bypasses the level check, as Go writes it to the underlying builder (anything silenced was
   * already dropped on the way in).
   */
  withIndent(f: () => void): void {
    const orig = this.text;
    this.text = '';
    let inner: string;
    try {
      f();
    } finally {
      inner = this.text;
      this.text = orig;
    }
    if (inner.length === 0) return;
    const lines = inner.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let out = '';
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1); // bufio.ScanLines drops a trailing CR
      out += '  ' + line + '\n';
    }
    this.text += out;
  }

  private print(lvl: number, text: string): void {
    if (this.lvl > lvl) return;
    this.text += LEVEL_NAMES[lvl] + ' ' + text;
    if (text.length > 0 && !text.endsWith('\n')) this.text += '\n';
  }

  debug(text: string): void {
    this.print(LEVEL_DEBUG, text);
  }
  info(text: string): void {
    this.print(LEVEL_INFO, text);
  }
  warning(text: string): void {
    this.print(LEVEL_WARN, text);
  }
  error(text: string): void {
    this.print(LEVEL_ERROR, text);
  }
  fatal(text: string): never {
    this.print(LEVEL_FATAL, text);
    throw new RaftPanic(text);
  }
  panic(text: string): never {
    this.print(LEVEL_FATAL, text);
    throw new RaftPanic(text);
  }
}
