// The tsetcdutl logger: zap's console encoding as etcdutl configures it (RFC 3339 time, level,
// caller, message, then the fields as spaced JSON), one line per entry on stderr.

export type Fields = Record<string, string | number | boolean | string[]>;

export interface UtilLogger {
  info(caller: string, msg: string, fields?: Fields): void;
  warn(caller: string, msg: string, fields?: Fields): void;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Go's time.RFC3339 of `d` in the local zone ("2006-01-02T15:04:05Z07:00"). */
export function rfc3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  );
}

/** zap's spaced JSON object: `{"k": "v", "n": 1, "l": ["a"]}`. */
export function spacedJson(fields: Fields): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    const val = Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v);
    parts.push(`${JSON.stringify(k)}: ${val}`);
  }
  return `{${parts.join(', ')}}`;
}

export function consoleLine(level: string, caller: string, msg: string, fields?: Fields, now = new Date()): string {
  const tail = fields && Object.keys(fields).length > 0 ? `\t${spacedJson(fields)}` : '';
  return `${rfc3339(now)}\t${level}\t${caller}\t${msg}${tail}\n`;
}

export function newConsoleLogger(write: (line: string) => void = (l) => process.stderr.write(l)): UtilLogger {
  return {
    info: (caller, msg, fields) => write(consoleLine('info', caller, msg, fields)),
    warn: (caller, msg, fields) => write(consoleLine('warn', caller, msg, fields)),
  };
}

export const silentUtilLogger: UtilLogger = { info() {}, warn() {} };
