// The tsetcdutl command tree (etcd's etcdutl): `snapshot restore`, `snapshot status`, the hidden
// `snapshot save` pointer to etcdctl, and `version`; errors print as `Error: ...` with cobrautl's
// exit codes (1 error, 4 unsupported output format, 128 bad arguments).

import { readFileSync } from 'node:fs';
import { FlagError, flagUsage, parseFlags, type FlagSpec } from './flags.js';
import { newConsoleLogger, type UtilLogger } from './log.js';
import { formatStatus, isOutputFormat } from './printer.js';
import { restoreSnapshot } from './restore.js';
import { snapshotStatus } from './status.js';

export const EXIT_ERROR = 1;
export const EXIT_BAD_FEATURE = 4;
export const EXIT_BAD_ARGS = 128;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  logger: UtilLogger;
}

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  logger: newConsoleLogger(),
});

const WRITE_OUT: FlagSpec = {
  name: 'write-out',
  short: 'w',
  kind: 'string',
  default: 'simple',
  help: 'set the output format (fields, json, simple, table)',
};
const HELP: FlagSpec = { name: 'help', short: 'h', kind: 'bool', default: false, help: 'help for this command' };

const RESTORE_FLAGS: FlagSpec[] = [
  { name: 'data-dir', kind: 'string', default: '', help: 'Path to the output data directory' },
  { name: 'wal-dir', kind: 'string', default: '', help: 'Path to the WAL directory (use --data-dir if none given)' },
  { name: 'initial-cluster', kind: 'string', default: 'default=http://localhost:2380', help: 'Initial cluster configuration for restore bootstrap' },
  { name: 'initial-cluster-token', kind: 'string', default: 'etcd-cluster', help: 'Initial cluster token for the etcd cluster during restore bootstrap' },
  { name: 'initial-advertise-peer-urls', kind: 'string', default: 'http://localhost:2380', help: "List of this member's peer URLs to advertise to the rest of the cluster" },
  { name: 'name', kind: 'string', default: 'default', help: 'Human-readable name for this member' },
  { name: 'skip-hash-check', kind: 'bool', default: false, help: 'Ignore snapshot integrity hash value (required if copied from data directory)' },
];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

const ROOT_USAGE = `A simple command line client for tsetcd (etcd's etcdutl).

Usage:
  tsetcdutl [command]

Available Commands:
  snapshot    Manages etcd node snapshots
  version     Prints the version of tsetcdutl

Flags:
${flagUsage([HELP, WRITE_OUT])}`;

const SNAPSHOT_USAGE = `Manages etcd node snapshots

Usage:
  tsetcdutl snapshot [command]

Available Commands:
  restore     Restores an etcd member snapshot to an etcd directory
  status      Gets backend snapshot status of a given file
`;

const RESTORE_USAGE = `Restores an etcd member snapshot to an etcd directory

Usage:
  tsetcdutl snapshot restore <filename> --data-dir {output dir} [options] [flags]

Flags:
${flagUsage([...RESTORE_FLAGS, HELP])}`;

const STATUS_USAGE = `Gets backend snapshot status of a given file

When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are hash, revision, total keys, total size.

Usage:
  tsetcdutl snapshot status <filename> [flags]

Flags:
${flagUsage([HELP, WRITE_OUT])}`;

class ExitError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function runEtcdutl(argv: string[], io: Io = defaultIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    io.err(`Error: ${(e as Error).message}\n`);
    return e instanceof ExitError ? e.code : EXIT_ERROR;
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  const words = commandWords(argv);
  const [cmd, sub] = words.map((i) => argv[i]);
  if (cmd === undefined || cmd === 'help') {
    io.out(ROOT_USAGE);
    return 0;
  }
  if (cmd === 'version') {
    io.out(`tsetcdutl version: ${version()}\nAPI version: 3.5\n`);
    return 0;
  }
  if (cmd !== 'snapshot') throw new ExitError(EXIT_ERROR, `unknown command "${cmd}" for "tsetcdutl"`);
  const rest = argv.filter((_, i) => i !== words[0] && i !== words[1]);
  switch (sub) {
    case 'restore':
      return restore(rest, io);
    case 'status':
      return status(rest, io);
    case 'save':
      throw new ExitError(EXIT_BAD_ARGS, 'In order to download snapshot use: `etcdctl snapshot save ...`');
    case undefined:
    case 'help':
      io.out(SNAPSHOT_USAGE);
      return 0;
    default:
      throw new ExitError(EXIT_ERROR, `unknown command "${sub}" for "tsetcdutl snapshot"`);
  }
}

/** Positions of the arguments that are not flags or flag values, as cobra finds the command path. */
function commandWords(argv: string[]): number[] {
  const takesValue = new Set<string>();
  for (const f of [...RESTORE_FLAGS, WRITE_OUT]) {
    if (f.kind !== 'string') continue;
    takesValue.add(`--${f.name}`);
    if (f.short) takesValue.add(`-${f.short}`);
  }
  const words: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (!a.startsWith('-')) words.push(i);
    else if (takesValue.has(a)) i++;
  }
  return words;
}

function parse(argv: string[], specs: FlagSpec[]) {
  try {
    return parseFlags(argv, specs);
  } catch (e) {
    if (e instanceof FlagError) throw new ExitError(EXIT_ERROR, e.message);
    throw e;
  }
}

async function restore(argv: string[], io: Io): Promise<number> {
  const { args, values } = parse(argv, [...RESTORE_FLAGS, WRITE_OUT, HELP]);
  if (values.get('help') === true) {
    io.out(RESTORE_USAGE);
    return 0;
  }
  if (args.length !== 1) throw new ExitError(EXIT_BAD_ARGS, 'snapshot restore requires exactly one argument');
  const str = (k: string) => values.get(k) as string;
  try {
    await restoreSnapshot(
      {
        snapshotPath: args[0]!,
        name: str('name'),
        dataDir: str('data-dir'),
        walDir: str('wal-dir'),
        peerUrls: str('initial-advertise-peer-urls').split(','),
        initialCluster: str('initial-cluster'),
        initialClusterToken: str('initial-cluster-token'),
        skipHashCheck: values.get('skip-hash-check') === true,
      },
      io.logger,
    );
  } catch (e) {
    throw new ExitError(EXIT_ERROR, errorText(e));
  }
  return 0;
}

async function status(argv: string[], io: Io): Promise<number> {
  const { args, values } = parse(argv, [WRITE_OUT, HELP]);
  if (values.get('help') === true) {
    io.out(STATUS_USAGE);
    return 0;
  }
  if (args.length !== 1) throw new ExitError(EXIT_BAD_ARGS, 'snapshot status requires exactly one argument');
  const format = values.get('write-out') as string;
  if (!isOutputFormat(format)) throw new ExitError(EXIT_BAD_FEATURE, 'unsupported output format');
  let ds;
  try {
    ds = await snapshotStatus(args[0]!);
  } catch (e) {
    throw new ExitError(EXIT_ERROR, errorText(e));
  }
  io.out(formatStatus(ds, format));
  return 0;
}

/** Node's file errors in Go's wording (`stat x: no such file or directory`); others as they are. */
function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT' && err.path !== undefined) return `${err.syscall ?? 'open'} ${err.path}: no such file or directory`;
  if (err.code === 'EACCES' && err.path !== undefined) return `${err.syscall ?? 'open'} ${err.path}: permission denied`;
  return err.message;
}
