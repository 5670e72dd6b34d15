// The logger interface the Raft core writes through. Every call receives the final text (callers
// format it), so a test harness can capture lines byte for byte and a server can route them to pino.

export interface Logger {
  debug(text: string): void;
  info(text: string): void;
  warning(text: string): void;
  error(text: string): void;
  /** Logs and throws: an unrecoverable invariant violation. */
  fatal(text: string): never;
  /** Logs and throws: a programming error. */
  panic(text: string): never;
}

export class RaftPanic extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftPanic';
  }
}

/** Discards everything but still throws on fatal/panic. */
export const discardLogger: Logger = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  fatal(text: string): never {
    throw new RaftPanic(text);
  },
  panic(text: string): never {
    throw new RaftPanic(text);
  },
};

/** A logger writing `LEVEL text` lines to stderr, for tools and examples. */
export function consoleLogger(minLevel: 'debug' | 'info' | 'warning' | 'error' = 'info'): Logger {
  const order = { debug: 0, info: 1, warning: 2, error: 3 };
  const min = order[minLevel];
  const write = (lvl: keyof typeof order, name: string, text: string) => {
    if (order[lvl] >= min) process.stderr.write(`${name} ${text}\n`);
  };
  return {
    debug: (t) => write('debug', 'DEBUG', t),
    info: (t) => write('info', 'INFO', t),
    warning: (t) => write('warning', 'WARN', t),
    error: (t) => write('error', 'ERROR', t),
    fatal(text: string): never {
      process.stderr.write(`FATAL ${text}\n`);
      throw new RaftPanic(text);
    },
    panic(text: string): never {
      process.stderr.write(`PANIC ${text}\n`);
      throw new RaftPanic(text);
    },
  };
}
