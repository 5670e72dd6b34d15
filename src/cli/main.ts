// The tsetcd server command (etcd's etcdmain): parse flags / ETCD_* / config file, validate, start
// the member, and stop it cleanly on SIGINT or SIGTERM. Invalid flags or values print the error
// to stderr and exit 1; --help prints the usage, --version the version.
import { readFileSync } from 'node:fs';
import { ConfigError, validateConfig } from '../embed/config.js';
import { serveClients, startEtcd } from '../embed/etcd.js';
import { parseArgs, usage } from './flags.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
    if (parsed.kind === 'run') validateConfig(parsed.config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(
      `tsetcd Version: ${packageVersion()}\nAPI Version: 3.5\nNode Version: ${process.version}\nNode OS/Arch: ${process.platform}/${process.arch}\n`,
    );
    return 0;
  }
  const cfg = parsed.config;
  let etcd;
  try {
    etcd = await startEtcd(cfg, { serveClients });
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : `failed to start: ${(err as Error).message}`;
    process.stderr.write(`${msg}\n`);
    return 1;
  }
  for (const w of parsed.warnings) etcd.logger.warn({}, w);
  const e = etcd;
  return new Promise<number>((resolve) => {
    let exiting = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (exiting) return;
      exiting = true;
      e.logger.info({ signal: sig }, 'received signal; shutting down');
      void e.close().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // The server stopped by itself: removed from the cluster (exit 0, as etcd) or a fatal error.
    void e.server.done.then(() => {
      if (exiting) return;
      exiting = true;
      const code = e.server.removed ? 0 : 1;
      void e.close().then(() => resolve(code), () => resolve(1));
    });
  });
}

const code = await main(process.argv.slice(2));
// Let pino flush before exiting.
setTimeout(() => process.exit(code), 50).unref();
process.exitCode = code;
