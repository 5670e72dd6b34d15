// The tsetcdutl command tree: help, version, the `snapshot save` pointer to etcdctl, argument and
// flag errors with cobrautl's exit codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_BAD_ARGS, EXIT_ERROR, runEtcdutl } from '../../src/etcdutl/command.js';
import { captureIo } from './helpers.js';

async function run(argv: string[]) {
  const io = captureIo();
  const code = await runEtcdutl(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

test('help and version', async () => {
  const root = await run([]);
  assert.equal(root.code, 0);
  assert.match(root.out, /snapshot {4}Manages etcd node snapshots/);
  assert.match((await run(['snapshot'])).out, /restore {5}Restores an etcd member snapshot/);
  const rh = await run(['snapshot', 'restore', '--help']);
  assert.equal(rh.code, 0);
  assert.match(rh.out, /--initial-cluster string +Initial cluster configuration for restore bootstrap \(default "default=http:\/\/localhost:2380"\)/);
  assert.match(rh.out, /--skip-hash-check +Ignore snapshot integrity hash value/);
  const v = await run(['version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^tsetcdutl version: \S+\nAPI version: 3\.5\n$/);
});

test('errors: save points to etcdctl, unknown commands and flags, argument counts', async () => {
  assert.deepEqual(await run(['snapshot', 'save', 'x.db']), {
    code: EXIT_BAD_ARGS,
    out: '',
    err: 'Error: In order to download snapshot use: `etcdctl snapshot save ...`\n',
  });
  assert.deepEqual(await run(['frobnicate']), { code: EXIT_ERROR, out: '', err: 'Error: unknown command "frobnicate" for "tsetcdutl"\n' });
  assert.equal((await run(['snapshot', 'melt'])).err, 'Error: unknown command "melt" for "tsetcdutl snapshot"\n');
  assert.deepEqual(await run(['snapshot', 'restore', 'a.db', '--frob']), { code: EXIT_ERROR, out: '', err: 'Error: unknown flag: --frob\n' });
  assert.deepEqual(await run(['snapshot', 'restore', 'a.db', 'b.db']), {
    code: EXIT_BAD_ARGS,
    out: '',
    err: 'Error: snapshot restore requires exactly one argument\n',
  });
  // A flag value that looks like a command word is not taken for one.
  assert.equal((await run(['--name', 'status', 'snapshot', 'status', '/nonexistent/f.db'])).err, 'Error: unknown flag: --name\n');
  const r = await run(['--write-out', 'snapshot', 'snapshot', 'status', '/nonexistent/file.db']);
  assert.equal(r.code, 4);
  assert.equal(r.err, 'Error: unsupported output format\n');
});
