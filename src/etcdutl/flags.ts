// A small pflag-style parser for tsetcdutl: `--flag=value`, `--flag value`, `-w value`, booleans
// as `--flag` or `--flag=true|false`, and `--` ending the flags. Unknown flags are errors worded as
// cobra words them.

export type FlagKind = 'string' | 'bool';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  /** One-letter shorthand (e.g. `w` for --write-out). */
  short?: string;
  default: string | boolean;
  help: string;
}

export interface Parsed {
  args: string[];
  values: Map<string, string | boolean>;
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export function parseFlags(argv: string[], specs: FlagSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values = new Map<string, string | boolean>(specs.map((s) => [s.name, s.default]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const long = a.startsWith('--');
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    const spec = long ? byName.get(key) : byShort.get(key);
    if (spec === undefined) {
      throw new FlagError(long ? `unknown flag: --${key}` : `unknown shorthand flag: '${key[0]}' in ${a}`);
    }
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (spec.kind === 'bool') {
      if (value === undefined) values.set(spec.name, true);
      else if (value === 'true' || value === '1') values.set(spec.name, true);
      else if (value === 'false' || value === '0') values.set(spec.name, false);
      else throw new FlagError(`invalid argument "${value}" for "--${spec.name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${spec.name}`);
      value = argv[++i]!;
    }
    values.set(spec.name, value);
  }
  return { args, values };
}

export function flagUsage(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.kind === 'string' ? ' string' : ''}`;
    const def = s.kind === 'string' && s.default !== '' ? ` (default "${String(s.default)}")` : '';
    return [names, `${s.help}${def}`] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([n, h]) => `  ${n.padEnd(w)}   ${h}\n`).join('');
}
