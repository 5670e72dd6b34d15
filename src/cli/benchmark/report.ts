// Statistics and the printed summary of a load run, in the shape of etcd's benchmark report:
// Total / Slowest / Fastest / Average / Stddev / Requests/sec, a 10-bucket response time histogram,
// the p10…p99.9 latency distribution and the error distribution. Latencies are in seconds.

export const PERCENTILES = [10, 25, 50, 75, 90, 95, 99, 99.9] as const;

export interface Stats {
  /** Wall time of the run, seconds. */
  total: number;
  slowest: number;
  fastest: number;
  average: number;
  stddev: number;
  /** Successful requests per second. */
  rps: number;
  /** Latencies of successful requests, sorted ascending. */
  lats: Float64Array;
  /** Error text -> occurrences. */
  errors: Map<string, number>;
}

/** Computes the statistics; sorts `lats` in place (pass exactly the successful latencies). */
export function computeStats(lats: Float64Array, totalSec: number, errors: Map<string, number> = new Map()): Stats {
  const n = lats.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += lats[i]!;
  const average = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = lats[i]! - average;
    sq += d * d;
  }
  lats.sort();
  return {
    total: totalSec,
    slowest: n > 0 ? lats[n - 1]! : 0,
    fastest: n > 0 ? lats[0]! : 0,
    average,
    stddev: n > 0 ? Math.sqrt(sq / n) : 0,
    rps: totalSec > 0 ? n / totalSec : 0,
    lats,
    errors,
  };
}

/** etcd's percentile rule: the element at ceil(p*(n+1)/100)-1, clamped to the array. */
export function percentile(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  let idx = Math.ceil((p * (n + 1)) / 100) - 1;
  if (idx < 0) idx = 0;
  if (idx >= n) idx = n - 1;
  return sorted[idx]!;
}

/** Go's %g for a float64 (shortest representation; exponent form below 1e-4 or from 1e6). */
export function goG(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const [mant, expStr] = x.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  return String(x);
}

function fmtNum(x: number, precise: boolean): string {
  return precise ? goG(x) : x.toFixed(4);
}

function histogram(s: Stats, precise: boolean): string {
  const bc = 10;
  const buckets = new Array<number>(bc + 1);
  const counts = new Array<number>(bc + 1).fill(0);
  const bs = (s.slowest - s.fastest) / bc;
  for (let i = 0; i < bc; i++) buckets[i] = s.fastest + bs * i;
  buckets[bc] = s.slowest;
  let bi = 0;
  let max = 0;
  for (let i = 0; i < s.lats.length; ) {
    if (s.lats[i]! <= buckets[bi]!) {
      i++;
      counts[bi]!++;
      if (max < counts[bi]!) max = counts[bi]!;
    } else if (bi < buckets.length - 1) bi++;
    else break; // unreachable for sorted input; guards against NaN
  }
  let out = '\nResponse time histogram:\n';
  for (let i = 0; i < buckets.length; i++) {
    const barLen = max > 0 ? Math.floor((counts[i]! * 40) / max) : 0;
    out += `  ${fmtNum(buckets[i]!, precise)} [${counts[i]}]\t|${'∎'.repeat(barLen)}\n`;
  }
  return out;
}

/** The summary text etcd's benchmark prints (starting with a blank line). */
export function formatReport(s: Stats, precise = false): string {
  let out = '';
  if (s.lats.length > 0) {
    const secs = (x: number): string => `${fmtNum(x, precise)} secs`;
    out += '\nSummary:\n';
    out += `  Total:\t${secs(s.total)}.\n`;
    out += `  Slowest:\t${secs(s.slowest)}.\n`;
    out += `  Fastest:\t${secs(s.fastest)}.\n`;
    out += `  Average:\t${secs(s.average)}.\n`;
    out += `  Stddev:\t${secs(s.stddev)}.\n`;
    out += `  Requests/sec:\t${fmtNum(s.rps, precise)}\n`;
    out += histogram(s, precise);
    out += '\nLatency distribution:\n';
    for (const p of PERCENTILES) {
      const v = percentile(s.lats, p);
      if (v > 0) out += `  ${p}% in ${(v * 1000).toFixed(3)} ms.\n`;
    }
  }
  if (s.errors.size > 0) {
    out += '\nError distribution:\n';
    for (const [err, num] of s.errors) out += `  [${num}]\t${err}\n`;
  }
  return out;
}
