// Server benchmark (npm run bench:server): starts a tsetcd member (bin/tsetcd; or a cluster) on free ports
// with a temporary data dir, and measures with our load tool, in-process: Put, linearizable Range
// and serializable Range throughput and latency, with 100 clients over 10 gRPC connections, 8-byte
// keys and 256-byte values (the workload of issue 4). With --compare (or BENCH_COMPARE_ETCD=1) and
// /usr/bin/etcd present, runs the same against real etcd and prints both side by side.
//
// Options: --total N requests per phase (default 50000), --clients C (100), --conns K (10),
// --cluster M (members, default 1: with more, connections are spread over all of them),
// --key-size (8), --val-size (256), --compare, --etcd-only (baseline alone), --verbose (full
// etcd-style report per phase), --reads-after-puts (range phases after the put phase instead of
// before it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GrpcConn } from '../src/cli/benchmark/grpcConn.js';
import { drive, openConns } from '../src/cli/benchmark/load.js';
import { MemberProcess, startCluster } from '../src/cli/benchmark/member.js';
import { Stats, formatReport, percentile } from '../src/cli/benchmark/report.js';
import { KV_PUT, KV_RANGE, encodeRange, putGenerator, writeKeyNumber } from '../src/cli/benchmark/requests.js';

const ETCD_BIN = '/usr/bin/etcd';
const TSETCD_BIN = fileURLToPath(new URL('../../bin/tsetcd', import.meta.url));

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const TOTAL = arg('total', 50_000);
const CLIENTS = arg('clients', 100);
const CONNS = arg('conns', 10);
const CLUSTER = arg('cluster', 1);
const KEY_SIZE = arg('key-size', 8);
const VAL_SIZE = arg('val-size', 256);
const VERBOSE = flag('verbose');
const ETCD_ONLY = flag('etcd-only');
const READS_AFTER_PUTS = flag('reads-after-puts');
const COMPARE = ETCD_ONLY || flag('compare') || process.env.BENCH_COMPARE_ETCD === '1';

const PHASES = ['put', 'range (linearizable)', 'range (serializable)'] as const;
type Phase = (typeof PHASES)[number];
type Results = Map<Phase, Stats>;

function line(label: string, phase: Phase, s: Stats): string {
  const ms = (x: number): string => (x * 1000).toFixed(2).padStart(7) + ' ms';
  const errs = [...s.errors.values()].reduce((a, b) => a + b, 0);
  return (
    `${`[${label}]`.padEnd(14)} ${phase.padEnd(21)} ${s.rps.toFixed(0).padStart(7)} req/s  avg ${ms(s.average)}` +
    `  p50 ${ms(percentile(s.lats, 50))}  p99 ${ms(percentile(s.lats, 99))}${errs ? `  ERRORS ${errs}` : ''}`
  );
}

async function measure(ms: MemberProcess[]): Promise<Results> {
  const results: Results = new Map();
  const m = ms[0]!;
  // Connections are spread over the members, as etcd's benchmark does with several endpoints.
  const conns: GrpcConn[] = await openConns(ms.map((x) => x.endpoint), CONNS);
  try {
    const run = async (phase: Phase, method: string, request: (i: number) => Uint8Array): Promise<void> => {
      const s = await drive(conns, { clients: CLIENTS, total: TOTAL, method, request });
      results.set(phase, s);
      console.log(line(m.label, phase, s));
      if (VERBOSE || s.errors.size > 0) console.log(formatReport(s));
    };
    const putLoad = putGenerator({ keySize: KEY_SIZE, valSize: VAL_SIZE, keySpaceSize: TOTAL, sequentialKeys: true });
    // Reads target key #0 (written with a VAL_SIZE value). By default they run before the put phase:
    // after a burst of writes etcd 3.4 copies its grown read buffer on every read, which would
    // understate the baseline; --reads-after-puts measures that order instead.
    const key = new Uint8Array(KEY_SIZE);
    writeKeyNumber(key, 0);
    const lin = encodeRange(key, new Uint8Array(0), false);
    const ser = encodeRange(key, new Uint8Array(0), true);
    const reads = async (): Promise<void> => {
      await run('range (linearizable)', KV_RANGE, () => lin);
      await run('range (serializable)', KV_RANGE, () => ser);
    };
    if (!READS_AFTER_PUTS) {
      const seed = await drive(conns, { clients: 1, total: 1, method: KV_PUT, request: putLoad });
      if (seed.errors.size > 0) throw new Error(`writing the range key failed: ${[...seed.errors.keys()][0]}`);
      await reads();
    }
    // Every put writes a distinct key (sequential over the run), as etcd's performance guide does.
    await run('put', KV_PUT, putLoad);
    if (READS_AFTER_PUTS) await reads();
  } finally {
    for (const c of conns) c.close();
  }
  return results;
}

interface Run {
  results: Results;
  /** Resident and peak resident memory of the server after all phases (MiB; Linux only). */
  memory: { rss: number; peak: number } | null;
}

function memoryOf(pid: number | undefined): Run['memory'] {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

async function benchServer(label: string, command: string, prefixArgs: string[]): Promise<Run> {
  const ms = await startCluster(CLUSTER, { label, command, prefixArgs, readyTimeoutMs: 30_000 });
  try {
    const results = await measure(ms);
    // Memory of all members together.
    const each = ms.map((m) => memoryOf(m.proc.pid));
    const memory = each.some((x) => x === null)
      ? null
      : { rss: each.reduce((a, x) => a + x!.rss, 0), peak: each.reduce((a, x) => a + x!.peak, 0) };
    if (memory !== null) {
      const of = CLUSTER > 1 ? ` (${CLUSTER} members together)` : '';
      console.log(`${`[${label}]`.padEnd(14)} memory after the phases${of}: rss ${memory.rss.toFixed(0)} MiB, peak ${memory.peak.toFixed(0)} MiB`);
    }
    return { results, memory };
  } finally {
    await Promise.all(ms.map((m) => m.stop()));
  }
}

function sideBySide(tsRun: Run, etcdRun: Run, etcdName: string): void {
  const ts = tsRun.results;
  const etcd = etcdRun.results;
  const cell = (s: Stats | undefined): string =>
    s
      ? `${s.rps.toFixed(0).padStart(7)}/s p50 ${(percentile(s.lats, 50) * 1000).toFixed(1).padStart(5)} p99 ${(percentile(s.lats, 99) * 1000).toFixed(1).padStart(6)} ms`
      : 'n/a'.padStart(36);
  console.log(`\n${''.padEnd(22)}${'tsetcd'.padEnd(38)}${etcdName.padEnd(38)}tsetcd/etcd`);
  for (const p of PHASES) {
    const a = ts.get(p);
    const b = etcd.get(p);
    const ratio = a && b && b.rps > 0 ? (a.rps / b.rps).toFixed(2) : 'n/a';
    console.log(`${p.padEnd(22)}${cell(a).padEnd(38)}${cell(b).padEnd(38)}${ratio}`);
  }
  const ma = tsRun.memory;
  const mb = etcdRun.memory;
  if (ma !== null && mb !== null) {
    const mem = (m: { rss: number; peak: number }): string => `rss ${m.rss.toFixed(0)} MiB, peak ${m.peak.toFixed(0)} MiB`;
    console.log(`${'memory'.padEnd(22)}${mem(ma).padEnd(38)}${mem(mb).padEnd(38)}${(ma.rss / mb.rss).toFixed(2)}`);
  }
}

async function main(): Promise<number> {
  console.log(
    `bench:server: ${CLUSTER > 1 ? `${CLUSTER}-member cluster, ` : ''}${CLIENTS} clients over ${CONNS} connections, ` +
      `${KEY_SIZE}-byte keys, ${VAL_SIZE}-byte values, ${TOTAL} requests per phase`,
  );
  let failed = false;
  let ts: Run | null = null;
  if (!ETCD_ONLY) {
    try {
      ts = await benchServer('tsetcd', process.execPath, [TSETCD_BIN]);
    } catch (e) {
      console.error(`bench:server: cannot benchmark tsetcd: ${(e as Error).message}`);
      failed = true;
    }
  }
  let etcd: Run | null = null;
  let etcdName = 'etcd';
  if (COMPARE) {
    if (!existsSync(ETCD_BIN)) {
      console.log(`bench:server: no comparison with real etcd: ${ETCD_BIN} not found (apt-get install etcd-server)`);
    } else {
      const v = /etcd Version: (\S+)/.exec(execFileSync(ETCD_BIN, ['--version'], { encoding: 'utf8' }));
      etcdName = `etcd ${v?.[1] ?? ''}`.trim();
      try {
        etcd = await benchServer(etcdName, ETCD_BIN, []);
      } catch (e) {
        console.error(`bench:server: cannot benchmark ${etcdName}: ${(e as Error).message}`);
        failed = true;
      }
    }
  }
  if (ts && etcd) sideBySide(ts, etcd, etcdName);
  for (const r of [ts, etcd]) {
    if (r && [...r.results.values()].some((s) => s.errors.size > 0)) failed = true;
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`bench:server: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  },
);
