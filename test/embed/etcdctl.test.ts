// Process-level: a real tsetcd process driven by the real etcdctl (ETCDCTL_API=3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../support/cluster.js';

const BIN = new URL('../../../bin/tsetcd', import.meta.url).pathname;
const ETCDCTL = '/usr/bin/etcdctl';

async function startProcess(dir: string, cport: number, pport: number): Promise<ChildProcess> {
  const c = `http://127.0.0.1:${cport}`;
  const p = `http://127.0.0.1:${pport}`;
  const child = spawn(process.execPath, [BIN, '--name', 'n1', '--data-dir', path.join(dir, 'n1.etcd'),
    '--listen-client-urls', c, '--advertise-client-urls', c, '--listen-peer-urls', p,
    '--initial-advertise-peer-urls', p, '--initial-cluster', `n1=${p}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const end = Date.now() + 5000;
  while (!log.includes('published local member')) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`tsetcd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

function stopProcess(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

test('etcdctl put/get/del/lease/endpoint status against a tsetcd process, and restart', { skip: !fs.existsSync(ETCDCTL) }, async () => {
  const dir = fs.mkdtempSync(os.tmpdir() + '/tsetcd-embed-');
  const cport = await freePort();
  const pport = await freePort();
  const ctl = (...args: string[]) =>
    execFileSync(ETCDCTL, [`--endpoints=127.0.0.1:${cport}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }).toString();
  let child = await startProcess(dir, cport, pport);
  try {
    assert.equal(ctl('put', 'foo', 'bar'), 'OK\n');
    assert.equal(ctl('get', 'foo'), 'foo\nbar\n');
    ctl('put', 'foo2', 'baz');
    assert.equal(ctl('get', 'foo', '--prefix', '--print-value-only'), 'bar\nbaz\n');
    const j = JSON.parse(ctl('get', 'foo', '--prefix', '--keys-only', '-w', 'json'));
    assert.equal(j.count, 2);
    assert.equal(ctl('del', 'foo2'), '1\n');
    const lease = /lease ([0-9a-f]+) granted/.exec(ctl('lease', 'grant', '60'))![1]!;
    ctl('put', 'lk', 'v', `--lease=${lease}`);
    assert.match(ctl('lease', 'timetolive', lease, '--keys'), /attached keys\(\[lk\]\)/);
    assert.match(ctl('lease', 'revoke', lease), /revoked/);
    assert.equal(ctl('get', 'lk'), '');
    const st = JSON.parse(ctl('endpoint', 'status', '-w', 'json'));
    assert.equal(st[0].Status.leader, st[0].Status.header.member_id);
    // etcdctl prints the health line on stderr.
    const h = spawnSync(ETCDCTL, [`--endpoints=127.0.0.1:${cport}`, 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' } });
    assert.match(h.stderr.toString() + h.stdout.toString(), /127\.0\.0\.1:\d+ is healthy/);
    assert.equal(await stopProcess(child), 0);
    child = await startProcess(dir, cport, pport);
    assert.equal(ctl('get', 'foo'), 'foo\nbar\n');
    assert.equal(ctl('get', 'foo2'), '');
  } finally {
    if (child.exitCode === null) await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
