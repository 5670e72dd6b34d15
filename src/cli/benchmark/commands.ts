// The benchmark's put and range commands as functions (used by the CLI and by bench/server.bench):
// option sets -> load spec -> statistics.
import { CommonOptions, PutOptions, RangeOptions } from './args.js';
import { runLoad } from './load.js';
import { Stats } from './report.js';
import { KV_PUT, KV_RANGE, encodeRange, putGenerator } from './requests.js';

export function runPutBenchmark(common: CommonOptions, put: PutOptions): Promise<Stats> {
  return runLoad({
    endpoints: common.endpoints,
    conns: common.conns,
    clients: common.clients,
    dialTimeoutMs: common.dialTimeoutMs,
    total: put.total,
    method: KV_PUT,
    request: putGenerator(put),
  });
}

export function runRangeBenchmark(common: CommonOptions, range: RangeOptions): Promise<Stats> {
  const msg = encodeRange(Buffer.from(range.key), Buffer.from(range.end), range.consistency === 's');
  return runLoad({
    endpoints: common.endpoints,
    conns: common.conns,
    clients: common.clients,
    dialTimeoutMs: common.dialTimeoutMs,
    total: range.total,
    method: KV_RANGE,
    request: () => msg,
  });
}
