// The `tsetcd-benchmark` command (etcd's `benchmark` for put and range): parses the command line,
// runs the load against the endpoints and prints etcd's summary. Importing this module runs it.
import { UsageError, parseBenchmarkArgs } from './benchmark/args.js';
import { runPutBenchmark, runRangeBenchmark } from './benchmark/commands.js';
import { formatReport } from './benchmark/report.js';

async function main(argv: string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseBenchmarkArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (cmd.kind === 'help') {
    process.stdout.write(cmd.text);
    return 0;
  }
  if (cmd.kind === 'put') {
    const stats = await runPutBenchmark(cmd.common, cmd.put);
    process.stdout.write(formatReport(stats, cmd.common.precise) + '\n');
  } else {
    process.stdout.write(`bench with ${cmd.range.consistency === 'l' ? 'linearizable' : 'serializable'} range\n`);
    const stats = await runRangeBenchmark(cmd.common, cmd.range);
    process.stdout.write(formatReport(stats, cmd.common.precise));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`benchmark: ${err.message}\n`);
    process.exitCode = 1;
  },
);
