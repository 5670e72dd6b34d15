// The server logger (etcd's embed setupLogging with --logger=zap): pino writing etcd-style JSON
// lines (level, ts, msg) to each --log-outputs target — stderr for "default" and "stderr", stdout,
// or a file opened for appending — at --log-level, or debug with the deprecated --debug.
import { openSync } from 'node:fs';
import pino from 'pino';
import type { ServerLogger } from '../server/config.js';
import {
  ConfigError,
  DEFAULT_LOG_OUTPUT,
  JOURNAL_LOG_OUTPUT,
  STDERR_LOG_OUTPUT,
  STDOUT_LOG_OUTPUT,
} from './config.js';

export interface LoggingOptions {
  /** --log-level: debug, info, warn, error, panic or fatal. */
  level: string;
  /** --log-outputs (default ['default']). */
  outputs?: string[];
  /** --debug: forces the debug level. */
  debug?: boolean;
}

/** A logger that can also be flushed (pino's). */
export type FlushableLogger = ServerLogger & { flush(cb?: (err?: Error) => void): void };

/** Go's error texts for the usual reasons a sink cannot be opened. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
};

/**
 * The file descriptors to write to, one per distinct target, as zap's sinks: "/dev/null" among
 * them discards everything (etcd's MergeOutputPaths). Files are opened here, synchronously, so a
 * bad path stops start-up with etcd's "open sink" error.
 */
export function openLogSinks(outputs: string[]): number[] {
  const targets = new Set<string>();
  for (const o of outputs.length === 0 ? [DEFAULT_LOG_OUTPUT] : outputs) {
    // journald reads a service's stderr as well; without a journal client, stderr it is.
    if (o === DEFAULT_LOG_OUTPUT || o === STDERR_LOG_OUTPUT || o === JOURNAL_LOG_OUTPUT) targets.add(STDERR_LOG_OUTPUT);
    else targets.add(o);
  }
  const list = targets.has('/dev/null') ? ['/dev/null'] : [...targets];
  return list.map((t) => {
    if (t === STDERR_LOG_OUTPUT) return 2;
    if (t === STDOUT_LOG_OUTPUT) return 1;
    try {
      return openSync(t, 'a', 0o666);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      throw new ConfigError(`open sink "${t}": open ${t}: ${ERRNO_TEXT[code] ?? (e as Error).message}`);
    }
  });
}

/** Builds the server logger. Throws ConfigError when an output file cannot be opened. */
export function newLogger(opts: LoggingOptions | string): FlushableLogger {
  const o: LoggingOptions = typeof opts === 'string' ? { level: opts } : opts;
  const level = o.debug === true ? 'debug' : o.level === 'panic' || o.level === 'fatal' ? 'fatal' : o.level;
  const dests = openLogSinks(o.outputs ?? [DEFAULT_LOG_OUTPUT]).map((fd) => pino.destination({ dest: fd, sync: false }));
  let stream: pino.DestinationStream = dests[0]!;
  if (dests.length > 1) {
    const ms = pino.multistream(dests.map((s) => ({ stream: s, level })));
    // pino's flush asks the stream; a multistream does not answer, so flush each destination.
    (ms as unknown as { flush(cb: () => void): void }).flush = (cb) => {
      let n = dests.length;
      for (const d of dests) d.flush(() => --n === 0 && cb());
    };
    stream = ms;
  }
  const lg = pino(
    {
      level,
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return lg as unknown as FlushableLogger;
}
