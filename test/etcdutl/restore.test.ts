// Snapshot restore and status in-process: a snapshot of a running server's backend, restored into a
// new data dir, must restart as a member of a NEW cluster holding every key; bad inputs are refused
// with etcd's messages and leave nothing behind.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runEtcdutl } from '../../src/etcdutl/command.js';
import { restoreSnapshot, type RestoreConfig } from '../../src/etcdutl/restore.js';
import { snapshotStatus } from '../../src/etcdutl/status.js';
import { decodeMetadata } from '../../src/server/bootstrap.js';
import { memberFromJson } from '../../src/server/membership/member.js';
import { computeClusterId, computeMemberId } from '../../src/server/membership/ids.js';
import { decodeConfChange } from '../../src/raft/raftpb/codec.js';
import { EntryType } from '../../src/raft/raftpb/types.js';
import { Snapshotter } from '../../src/snap/index.js';
import { Backend, Bucket } from '../../src/storage/backend/index.js';
import { WAL } from '../../src/wal/index.js';
import { b, startServer, tempDir } from '../server/helpers.js';
import { hasChecksum } from '../../src/etcdutl/snapshotFile.js';
import { captureIo, saveSnapshotFile } from './helpers.js';

const PEER = 'http://127.0.0.1:2380';
let root: string;
let snapFile: string;
let plainDb: string;
let oldClusterId: bigint;
let lastRev: number;
const N = 50;

function cfg(over: Partial<RestoreConfig>): RestoreConfig {
  return {
    snapshotPath: snapFile,
    name: 'default',
    dataDir: '',
    walDir: '',
    peerUrls: [PEER],
    initialCluster: `default=${PEER}`,
    initialClusterToken: 'restored',
    skipHashCheck: false,
    ...over,
  };
}

before(async () => {
  root = tempDir('tsetcdutl-restore-');
  const src = path.join(root, 'src');
  const s = await startServer(src);
  try {
    for (let i = 0; i < N; i++) lastRev = (await s.put({ key: b(`k${i}`), value: b(`v${i}`) })).header!.revision;
    await s.deleteRange({ key: b('k0') });
    lastRev++;
    oldClusterId = s.clusterId;
    snapFile = path.join(root, 'snapshot.db');
    const db = await saveSnapshotFile(s.backend, snapFile);
    plainDb = path.join(root, 'plain.db');
    fs.writeFileSync(plainDb, db);
  } finally {
    await s.stop();
  }
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('status of the snapshot: revision, keys, size; same with or without the hash trailer', async () => {
  const st = await snapshotStatus(snapFile);
  assert.equal(st.revision, lastRev);
  assert.equal(st.totalSize, fs.statSync(plainDb).size);
  // N puts + 1 tombstone in the key bucket, plus meta, members and the rest.
  assert.ok(st.totalKey > N + 1, `totalKey ${st.totalKey}`);
  const plain = await snapshotStatus(plainDb);
  assert.deepEqual(plain, st);
  const io = captureIo();
  assert.equal(await runEtcdutl(['snapshot', 'status', snapFile, '-w', 'json'], io), 0);
  assert.deepEqual(JSON.parse(io.stdout()), { hash: st.hash, revision: st.revision, totalKey: st.totalKey, totalSize: st.totalSize });
  const bad = captureIo();
  assert.equal(await runEtcdutl(['snapshot', 'status', snapFile, '-w', 'yaml'], bad), 4);
  assert.equal(bad.stderr(), 'Error: unsupported output format\n');
});

test('restore lays out WAL, raft snapshot and backend for a new cluster', async () => {
  const dataDir = path.join(root, 'layout');
  const io = captureIo();
  const r = await restoreSnapshot(cfg({ dataDir }), io.logger);
  assert.deepEqual(io.logs, ['restoring snapshot', 'added member', 'restored snapshot']);
  const id = computeMemberId([PEER], 'restored');
  assert.equal(r.memberId, id);
  assert.equal(r.clusterId, computeClusterId([id]));
  assert.notEqual(r.clusterId, oldClusterId);
  assert.equal(r.snapshotIndex, 1);

  const snapDir = path.join(dataDir, 'member', 'snap');
  const snap = await new Snapshotter(snapDir).load();
  assert.equal(snap.metadata.index, 1);
  assert.equal(snap.metadata.term, 1);
  assert.deepEqual(snap.metadata.confState.voters, [id]);
  assert.equal(fs.existsSync(path.join(snapDir, 'db-lock')), false);

  const walDir = path.join(dataDir, 'member', 'wal');
  const marks = await WAL.validSnapshotEntries(walDir);
  assert.deepEqual(marks.map((m) => [m.index, m.term]), [[0, 0], [1, 1]]);
  const w = await WAL.open(walDir, { index: 0, term: 0 });
  const all = await w.readAll();
  await w.close();
  assert.deepEqual(decodeMetadata(all.metadata), { nodeId: id, clusterId: r.clusterId });
  assert.deepEqual(all.hardState, { term: 1, vote: id, commit: 1 });
  assert.equal(all.entries.length, 1);
  assert.equal(all.entries[0]!.type, EntryType.EntryConfChange);
  const cc = decodeConfChange(all.entries[0]!.data);
  assert.equal(cc.nodeId, id);
  assert.equal(memberFromJson(Buffer.from(cc.context).toString()).name, 'default');

  const be = Backend.open(path.join(snapDir, 'db'));
  try {
    assert.deepEqual(be.consistentIndex(), { index: 1, term: 1 });
    const members: bigint[] = [];
    be.readTx.forEach(Bucket.Members, (_k, v) => members.push(memberFromJson(v.toString()).id));
    assert.deepEqual(members, [id]);
    let removed = 0;
    be.readTx.forEach(Bucket.MembersRemoved, () => removed++);
    assert.equal(removed, 0);
  } finally {
    await be.close();
  }
});

test('the restored member restarts with every key, a new cluster ID, and accepts writes', async () => {
  const dataDir = path.join(root, 'restart');
  const r = await restoreSnapshot(cfg({ dataDir, initialClusterToken: 'new-token' }), captureIo().logger);
  const s = await startServer(dataDir);
  try {
    assert.equal(s.id, r.memberId);
    assert.equal(s.clusterId, r.clusterId);
    assert.notEqual(s.clusterId, oldClusterId);
    const all = await s.range({ key: b('k'), rangeEnd: b('l') });
    assert.equal(all.kvs.length, N - 1);
    assert.equal(all.header!.revision, lastRev);
    assert.equal((await s.range({ key: b('k7') })).kvs[0]!.value.toString(), 'v7');
    const p = await s.put({ key: b('after'), value: b('restore') });
    assert.equal(p.header!.revision, lastRev + 1);
  } finally {
    await s.stop();
  }
  // And once more: a plain restart keeps it all.
  const s2 = await startServer(dataDir);
  try {
    assert.equal((await s2.range({ key: b('after') })).kvs[0]!.value.toString(), 'restore');
  } finally {
    await s2.stop();
  }
});

test('a separate --wal-dir is used, and refused when it exists', async () => {
  const dataDir = path.join(root, 'waldata');
  const walDir = path.join(root, 'walonly');
  await restoreSnapshot(cfg({ dataDir, walDir }), captureIo().logger);
  assert.ok(await WAL.exists(walDir));
  assert.equal(fs.existsSync(path.join(dataDir, 'member', 'wal')), false);
  await assert.rejects(restoreSnapshot(cfg({ dataDir: path.join(root, 'waldata2'), walDir }), captureIo().logger), {
    message: `wal-dir "${walDir}" exists`,
  });
  assert.equal(fs.existsSync(path.join(root, 'waldata2')), false);
});

test('refusals: existing data dir, missing or wrong hash, unknown name, mismatched or duplicate URLs', async () => {
  const io = captureIo();
  const existing = path.join(root, 'existing');
  fs.mkdirSync(existing);
  fs.writeFileSync(path.join(existing, 'x'), 'keep');
  await assert.rejects(restoreSnapshot(cfg({ dataDir: existing }), io.logger), { message: `data-dir "${existing}" exists` });
  assert.equal(fs.readFileSync(path.join(existing, 'x'), 'utf8'), 'keep');

  const d = path.join(root, 'refused');
  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, snapshotPath: plainDb }), io.logger), {
    message: 'snapshot missing hash but --skip-hash-check=false',
  });
  assert.equal(fs.existsSync(d), false, 'a failed restore leaves no data dir');

  const corrupt = path.join(root, 'corrupt.db');
  const bytes = fs.readFileSync(snapFile);
  bytes[100] ^= 0xff;
  fs.writeFileSync(corrupt, bytes);
  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, snapshotPath: corrupt }), io.logger), /expected sha256 \[[\d ]+\], got \[[\d ]+\]$/);
  assert.equal(fs.existsSync(d), false);

  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, name: 'nope' }), io.logger), {
    message: 'couldn\'t find local name "nope" in the initial cluster configuration',
  });
  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, peerUrls: ['http://127.0.0.1:9999'] }), io.logger), /but missing from --initial-advertise-peer-urls/);
  await assert.rejects(
    restoreSnapshot(cfg({ dataDir: d, initialCluster: `default=${PEER},other=${PEER}` }), io.logger),
    /has duplicate url/,
  );
  assert.equal(fs.existsSync(d), false);
});

test('--skip-hash-check restores a database copied from a data dir (no trailer)', async () => {
  const dataDir = path.join(root, 'skip');
  await restoreSnapshot(cfg({ dataDir, snapshotPath: plainDb, skipHashCheck: true }), captureIo().logger);
  const s = await startServer(dataDir);
  try {
    assert.equal((await s.range({ key: b('k'), rangeEnd: b('l'), countOnly: true })).count, N - 1);
  } finally {
    await s.stop();
  }
});

test('an empty existing data dir is accepted', async () => {
  const dataDir = path.join(root, 'empty');
  fs.mkdirSync(dataDir);
  await restoreSnapshot(cfg({ dataDir }), captureIo().logger);
  assert.ok(fs.existsSync(path.join(dataDir, 'member', 'snap', 'db')));
});

test('files that are not LMDB databases are refused before LMDB sees them', async () => {
  const io = captureIo();
  const bolt = Buffer.alloc(4096 * 4);
  bolt.writeUInt32LE(0xed0cdaed, 16); // bbolt's meta page magic
  const boltFile = path.join(root, 'etcd-bolt.db');
  fs.writeFileSync(boltFile, bolt);
  const d = path.join(root, 'notlmdb');
  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, snapshotPath: boltFile, skipHashCheck: true }), io.logger), /is an etcd \(bbolt\) snapshot/);
  await assert.rejects(snapshotStatus(boltFile), /is an etcd \(bbolt\) snapshot/);
  const empty = path.join(root, 'empty.db');
  fs.writeFileSync(empty, '');
  await assert.rejects(snapshotStatus(empty), { message: 'invalid database' });
  await assert.rejects(restoreSnapshot(cfg({ dataDir: d, snapshotPath: empty, skipHashCheck: true }), io.logger), { message: 'invalid database' });
  assert.equal(fs.existsSync(d), false);
  const cli = captureIo();
  assert.equal(await runEtcdutl(['snapshot', 'restore', empty, '--skip-hash-check', `--data-dir=${d}`], cli), 1);
  assert.equal(cli.stderr(), 'Error: invalid database\n');
});

test('hasChecksum: a sha256 over whole 512-byte sectors', () => {
  assert.equal(hasChecksum(4096 + 32), true);
  assert.equal(hasChecksum(32), true);
  assert.equal(hasChecksum(4096), false);
  assert.equal(hasChecksum(4096 + 31), false);
});
