// Command line of the load tool, following etcd's `benchmark`: global flags (--endpoints, --conns,
// --clients, --precise, --dial-timeout) before or after the subcommand, then `put` (--total,
// --key-size, --val-size, --key-space-size, --sequential-keys) or `range key [end]` (--total,
// --consistency l|s). Flags are `--name value` or `--name=value`; booleans may stand alone.
import { parseGoDuration } from '../../pkg/duration.js';
import { Endpoint, parseEndpoint } from './endpoint.js';
import { zigzagVarintLen } from './requests.js';

export class UsageError extends Error {}

export interface CommonOptions {
  endpoints: Endpoint[];
  conns: number;
  clients: number;
  precise: boolean;
  dialTimeoutMs: number;
}

export interface PutOptions {
  total: number;
  keySize: number;
  valSize: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
}

export interface RangeOptions {
  total: number;
  key: string;
  end: string;
  consistency: 'l' | 's';
}

export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'put'; common: CommonOptions; put: PutOptions }
  | { kind: 'range'; common: CommonOptions; range: RangeOptions };

type FlagKind = 'int' | 'bool' | 'string' | 'duration';

const GLOBAL_FLAGS: Record<string, [FlagKind, string]> = {
  endpoints: ['string', 'gRPC endpoints, comma separated (default "127.0.0.1:2379")'],
  conns: ['int', 'Total number of gRPC connections (default 1)'],
  clients: ['int', 'Total number of gRPC clients (default 1)'],
  precise: ['bool', 'use full floating point precision'],
  'dial-timeout': ['duration', 'dial timeout for client connections (default 5s)'],
  help: ['bool', 'help for benchmark'],
};

const SUB_FLAGS: Record<'put' | 'range', Record<string, [FlagKind, string]>> = {
  put: {
    total: ['int', 'Total number of put requests (default 10000)'],
    'key-size': ['int', 'Key size of put request (default 8)'],
    'val-size': ['int', 'Value size of put request (default 8)'],
    'key-space-size': ['int', 'Maximum possible keys (default 1)'],
    'sequential-keys': ['bool', 'Use sequential keys'],
  },
  range: {
    total: ['int', 'Total number of range requests (default 10000)'],
    consistency: ['string', 'Linearizable(l) or Serializable(s) (default "l")'],
  },
};

function usage(sub?: 'put' | 'range'): string {
  const lines: string[] = [];
  const list = (flags: Record<string, [FlagKind, string]>): void => {
    for (const [name, [kind, help]] of Object.entries(flags)) {
      const arg = kind === 'bool' ? '' : kind === 'string' ? ' string' : kind === 'duration' ? ' duration' : ' int';
      lines.push(`      --${(name + arg).padEnd(24)} ${help}`);
    }
  };
  if (!sub) {
    lines.push('A low-level benchmark tool for etcd3 (and tsetcd).', '', 'Usage:', '  tsetcd-benchmark [command] [flags]', '');
    lines.push('Available Commands:', '  put         Benchmark put', '  range       Benchmark range', '');
  } else if (sub === 'put') {
    lines.push('Benchmark put', '', 'Usage:', '  tsetcd-benchmark put [flags]', '', 'Flags:');
    list(SUB_FLAGS.put);
    lines.push('');
  } else {
    lines.push('Benchmark range', '', 'Usage:', '  tsetcd-benchmark range key [end-range] [flags]', '', 'Flags:');
    list(SUB_FLAGS.range);
    lines.push('');
  }
  lines.push('Global Flags:');
  list(GLOBAL_FLAGS);
  return lines.join('\n') + '\n';
}

function parseInt10(name: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new UsageError(`invalid argument "${v}" for "--${name}" flag: parse error`);
  return Number(v);
}

function parseBool(name: string, v: string): boolean {
  if (/^(1|t|true|T|TRUE|True)$/.test(v)) return true;
  if (/^(0|f|false|F|FALSE|False)$/.test(v)) return false;
  throw new UsageError(`invalid argument "${v}" for "--${name}" flag: parse error`);
}

/** Parses the tool's argv (without node and script); throws UsageError with etcd-like texts. */
export function parseBenchmarkArgs(argv: string[]): Command {
  // First pass: find the subcommand (the first argument not consumed by a flag).
  const raw = new Map<string, string>();
  const positional: string[] = [];
  let sub: 'put' | 'range' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (sub === undefined && positional.length === 0) {
        if (a !== 'put' && a !== 'range') throw new UsageError(`unknown command "${a}" for "benchmark"`);
        sub = a;
      } else positional.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'h') {
      raw.set('help', 'true');
      continue;
    }
    const def = GLOBAL_FLAGS[name] ?? (sub ? SUB_FLAGS[sub][name] : undefined);
    if (!def) throw new UsageError(`unknown flag: --${name}`);
    if (eq >= 0) raw.set(name, body.slice(eq + 1));
    else if (def[0] === 'bool') raw.set(name, 'true');
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
      raw.set(name, argv[++i]!);
    }
  }

  if (raw.has('help') && parseBool('help', raw.get('help')!)) return { kind: 'help', text: usage(sub) };
  if (!sub) throw new UsageError('a command is required: put or range\n\n' + usage());

  const int = (name: string, def: number, min: number): number => {
    const v = raw.has(name) ? parseInt10(name, raw.get(name)!) : def;
    if (v < min) throw new UsageError(`--${name} must be at least ${min}, got ${v}`);
    return v;
  };
  const bool = (name: string): boolean => (raw.has(name) ? parseBool(name, raw.get(name)!) : false);

  const eps = (raw.get('endpoints') ?? '127.0.0.1:2379').split(',').filter((e) => e.trim() !== '');
  if (eps.length === 0) throw new UsageError('--endpoints is empty');
  let endpoints: Endpoint[];
  try {
    endpoints = eps.map(parseEndpoint);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let dialTimeoutMs = 5000;
  if (raw.has('dial-timeout')) {
    try {
      dialTimeoutMs = parseGoDuration(raw.get('dial-timeout')!);
    } catch (e) {
      throw new UsageError(`invalid argument "${raw.get('dial-timeout')}" for "--dial-timeout" flag: ${(e as Error).message}`);
    }
    if (dialTimeoutMs <= 0) dialTimeoutMs = 5000;
  }
  const common: CommonOptions = {
    endpoints,
    conns: int('conns', 1, 1),
    clients: int('clients', 1, 1),
    precise: bool('precise'),
    dialTimeoutMs,
  };

  if (sub === 'put') {
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}" for "put"`);
    const put: PutOptions = {
      total: int('total', 10000, 0),
      keySize: int('key-size', 8, 1),
      valSize: int('val-size', 8, 0),
      keySpaceSize: int('key-space-size', 1, 1),
      sequentialKeys: bool('sequential-keys'),
    };
    const need = zigzagVarintLen(put.keySpaceSize - 1);
    if (need > put.keySize) {
      throw new UsageError(`--key-size ${put.keySize} is too small for --key-space-size ${put.keySpaceSize} (needs ${need} bytes)`);
    }
    return { kind: 'put', common, put };
  }

  if (positional.length === 0 || positional.length > 2) {
    throw new UsageError('range needs a key and an optional end of range\n\n' + usage('range'));
  }
  const consistency = raw.get('consistency') ?? 'l';
  if (consistency !== 'l' && consistency !== 's') {
    throw new UsageError(`--consistency must be l (linearizable) or s (serializable), got "${consistency}"`);
  }
  return {
    kind: 'range',
    common,
    range: { total: int('total', 10000, 0), key: positional[0]!, end: positional[1] ?? '', consistency },
  };
}
