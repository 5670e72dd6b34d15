// Go's time.ParseDuration (the `ttl=` token option is written as a Go duration, e.g. "10m",
// "1h30m", "1.5s"), returning milliseconds, with Go's error texts.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5
  'μs': 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

export function parseGoDuration(orig: string): number {
  const quoted = JSON.stringify(orig);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(\.(\d*))?/.exec(s)!;
    const intPart = num[1];
    const fracPart = num[3] ?? '';
    if (intPart === '' && fracPart === '') throw new DurationError(`time: invalid duration ${quoted}`);
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new DurationError(`time: missing unit in duration ${quoted}`);
    const mul = UNIT_MS[unit];
    if (mul === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    total += Number(`${intPart || '0'}.${fracPart || '0'}`) * mul;
  }
  if (total > 9223372036854.775) throw new DurationError(`time: invalid duration ${quoted}`);
  return neg ? -total : total;
}
