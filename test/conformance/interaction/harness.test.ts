// Unit tests for the interaction harness itself: the leveled/indented output buffer, argument and
// conf-change parsing, message queue splitting, and directive behaviour the suite's files rarely
// or never exercise (errors, quiet mode, async storage threads, the history-backed snapshot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataDrivenError, parseLine } from '../datadriven.js';
import type { TestCase } from '../datadriven.js';
import { RaftPanic } from '../../../src/raft/logger.js';
import { ConfChangeType, MessageType, newMessage } from '../../../src/raft/raftpb/types.js';
import { LocalAppendThread } from '../../../src/raft/util.js';
import { nodeIdxs } from './args.js';
import { InteractionEnv } from './env.js';
import { splitMsgs } from './handleDeliverMsgs.js';
import { confChangesFromString } from './handleProposeConfChange.js';
import { LEVEL_INFO, LEVEL_NONE, OutputBuffer } from './output.js';

/** Runs `line` (with optional input) as a directive against `env`. */
function run(env: InteractionEnv, line: string, input = ''): string {
  const { cmd, cmdArgs } = parseLine(line);
  const tc: TestCase = { file: 'harness', line: 0, cmd, cmdArgs, input, expected: '' };
  return env.handle(tc);
}

test('output buffer filters by level and ends each log line once', () => {
  const out = new OutputBuffer();
  out.lvl = LEVEL_INFO;
  out.debug('hidden');
  out.info('shown');
  out.warning('already terminated\n');
  out.error('bad');
  assert.equal(out.toString(), 'INFO shown\nWARN already terminated\nERROR bad\n');
  assert.throws(() => out.panic('boom'), RaftPanic);
  assert.ok(out.toString().endsWith('FATAL boom\n'));
});

test('output buffer at NONE drops harness writes and log lines alike', () => {
  const out = new OutputBuffer();
  out.lvl = LEVEL_NONE;
  assert.equal(out.quiet(), true);
  out.write('harness text');
  out.error('log line');
  out.withIndent(() => out.write('indented'));
  assert.equal(out.length, 0);
  assert.throws(() => out.fatal('still throws'), RaftPanic);
  assert.equal(out.length, 0);
});

test('withIndent prefixes every line, terminates the last one and nests', () => {
  const out = new OutputBuffer();
  out.write('> header\n');
  out.withIndent(() => {
    out.write('a\nb');
    out.withIndent(() => out.info('inner'));
  });
  out.withIndent(() => {});
  // The nested section's line joins the unterminated 'b' before the outer indent applies.
  assert.equal(out.toString(), '> header\n  a\n  b  INFO inner\n');
  const out2 = new OutputBuffer();
  out2.write('top\n');
  out2.withIndent(() => {
    out2.write('x\n');
    out2.withIndent(() => out2.write('y'));
  });
  assert.equal(out2.toString(), 'top\n  x\n    y\n');
});

test('withIndent restores the outer buffer (dropping the partial section) when the step throws', () => {
  const out = new OutputBuffer();
  out.write('before\n');
  assert.throws(() =>
    out.withIndent(() => {
      out.write('partial');
      throw new Error('x');
    }),
  );
  out.write('after\n');
  assert.equal(out.toString(), 'before\nafter\n');
});

test('nodeIdxs takes bare arguments only and is fatal on non-numbers', () => {
  assert.deepEqual(nodeIdxs(parseLine('x 1 3 log-level=none 2').cmdArgs), [0, 2, 1]);
  assert.throws(() => nodeIdxs(parseLine('x 1 two').cmdArgs), DataDrivenError);
});

test('confChangesFromString parses tokens and reports Go error texts', () => {
  assert.deepEqual(confChangesFromString('  '), []);
  assert.deepEqual(confChangesFromString('v1 l2 r3 u4'), [
    { type: ConfChangeType.ConfChangeAddNode, nodeId: 1n },
    { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n },
    { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3n },
    { type: ConfChangeType.ConfChangeUpdateNode, nodeId: 4n },
  ]);
  const msg = (s: string) => (confChangesFromString(s) as Error).message;
  assert.equal(msg('v'), 'unknown token v');
  assert.equal(msg('x1'), 'unknown input: x1');
  assert.equal(msg('vX'), 'strconv.ParseUint: parsing "X": invalid syntax');
  assert.equal(msg('v1  v2'), 'unknown token ');
});

test('splitMsgs keeps order, filters by type and never drops local messages', () => {
  const m = (from: bigint, to: bigint, type: MessageType) => newMessage({ from, to, type });
  const q = [
    m(1n, 2n, MessageType.MsgApp),
    m(3n, 1n, MessageType.MsgApp),
    m(1n, 2n, MessageType.MsgHeartbeat),
    m(2n, 2n, MessageType.MsgVoteResp),
    m(LocalAppendThread, 2n, MessageType.MsgStorageAppendResp),
  ];
  const [all, rest] = splitMsgs(q, 2n, -1, false);
  assert.deepEqual(all, [q[0], q[2], q[3], q[4]]);
  assert.deepEqual(rest, [q[1]]);
  const [apps, others] = splitMsgs(q, 2n, MessageType.MsgApp, false);
  assert.deepEqual(apps, [q[0]]);
  assert.equal(others.length, 4);
  const [dropped, kept] = splitMsgs(q, 2n, -1, true);
  assert.deepEqual(dropped, [q[0], q[2]]);
  assert.deepEqual(kept, [q[1], q[3], q[4]]);
});

test('dispatcher: unknown commands, _breakpoint, errors and quiet mode', () => {
  const env = new InteractionEnv();
  assert.equal(run(env, 'frobnicate 1'), 'unknown command');
  assert.equal(run(env, '_breakpoint'), 'ok');
  assert.equal(run(env, 'log-level loud'), 'log levels must be either of [DEBUG INFO WARN ERROR FATAL NONE]');
  assert.equal(run(env, 'log-level none'), 'ok');
  // Quiet: output vanishes but errors are still returned, on their own.
  assert.equal(run(env, 'add-nodes 1'), 'ok');
  assert.equal(
    run(env, 'report-unreachable 1'),
    'must specify exactly two node indexes: node on which to report, and reported node',
  );
  assert.equal(run(env, 'log-level Info'), 'ok');
  assert.equal(env.output.lvl, LEVEL_INFO);
  assert.equal(run(env, 'raft-log 1'), 'log is empty: first index=1, last index=0');
});

test('add-nodes: bootstrap and config errors', () => {
  const env = new InteractionEnv();
  assert.equal(run(env, 'add-nodes 1 voters=(1) index=1'), 'index must be specified as > 1 due to bootstrap');
  assert.equal(run(env, 'add-nodes 1 read-only=sometimes'), 'invalid read-only option "sometimes"');
  assert.match(
    run(env, 'add-nodes 1 read-only=lease-based'),
    /CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased$/,
  );
  assert.equal(env.nodes.length, 0);
  assert.throws(() => run(env, 'add-nodes 1 prevote=maybe'), DataDrivenError);
  // Unknown keys and keys without values are ignored.
  run(env, 'log-level none');
  assert.equal(run(env, 'add-nodes 2 voters=(2,1) index=5 flavour=mint checkquorum'), 'ok');
  assert.equal(env.nodes.length, 2);
  assert.equal(env.nodes[1].config.id, 2n);
  assert.equal(env.nodes[0].config.checkQuorum, undefined);
  // Both nodes share the bootstrap snapshot, with its term forced to 1 and voters in given order.
  assert.equal(env.nodes[0].history[0], env.nodes[1].history[0]);
  assert.equal(env.nodes[0].history[0].metadata.term, 1);
  assert.deepEqual(env.nodes[0].history[0].metadata.confState.voters, [2n, 1n]);
  run(env, 'log-level debug');
  assert.equal(run(env, 'raft-log 2'), 'log is empty: first index=6, last index=5');
});

test('single node: campaign and stabilize match etcd-raft (README §6.1)', () => {
  const env = new InteractionEnv();
  run(env, 'log-level info');
  assert.equal(
    run(env, 'add-nodes 1 voters=(1) index=3'),
    'INFO 1 switched to configuration voters=(1)\n' +
      'INFO 1 became follower at term 0\n' +
      'INFO newRaft 1 [peers: [1], term: 0, commit: 3, applied: 3, lastindex: 3, lastterm: 1]\n',
  );
  assert.equal(
    run(env, 'campaign 1'),
    'INFO 1 is starting a new election at term 0\nINFO 1 became candidate at term 1\n',
  );
  assert.equal(
    run(env, 'stabilize'),
    [
      '> 1 handling Ready',
      '  Ready MustSync=true:',
      '  Lead:0 State:StateCandidate',
      '  HardState Term:1 Vote:1 Commit:3',
      '  INFO 1 received MsgVoteResp from 1 at term 1',
      '  INFO 1 has received 1 MsgVoteResp votes and 0 vote rejections',
      '  INFO 1 became leader at term 1',
      '> 1 handling Ready',
      '  Ready MustSync=true:',
      '  Lead:1 State:StateLeader',
      '  Entries:',
      '  1/4 EntryNormal ""',
      '> 1 handling Ready',
      '  Ready MustSync=false:',
      '  HardState Term:1 Vote:1 Commit:4',
      '  CommittedEntries:',
      '  1/4 EntryNormal ""',
      '',
    ].join('\n'),
  );
  assert.equal(run(env, 'process-ready 1'), '<empty Ready>');
  assert.equal(run(env, 'deliver-msgs 1'), 'no messages\n');
});

test('applied entries feed the appender history that send-snapshot sends', () => {
  const env = new InteractionEnv();
  run(env, 'log-level none');
  run(env, 'add-nodes 1 voters=(1) index=2 content=ab');
  run(env, 'add-nodes 1');
  run(env, 'campaign 1');
  run(env, 'stabilize 1');
  run(env, 'propose 1 cd');
  run(env, 'stabilize 1');
  const last = env.nodes[0].history[env.nodes[0].history.length - 1];
  assert.equal(Buffer.from(last.data).toString(), 'abcd');
  assert.equal(last.metadata.index, 4);
  run(env, 'log-level debug');
  assert.equal(
    run(env, 'send-snapshot 1 2'),
    '1->2 MsgSnap Term:1 Log:0/0\n' +
      '  Snapshot: Index:4 Term:1 ConfState:Voters:[1] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
  );
  // Queued, not delivered; a drop takes it out without stepping it.
  assert.equal(env.messages.length, 1);
  assert.match(run(env, 'deliver-msgs drop=2'), /^dropped: 1->2 MsgSnap Term:1 Log:0\/0\n/);
  assert.equal(env.messages.length, 0);
  // compact leaves index+1 first; compacting again below it is a storage error.
  assert.equal(run(env, 'compact 1 3'), '1/4 EntryNormal "cd"\n');
  assert.equal(run(env, 'compact 1 2'), 'requested index is unavailable due to compaction');
});

test('stabilize log-level= is temporary', () => {
  const env = new InteractionEnv();
  run(env, 'add-nodes 1 voters=(1) index=2');
  run(env, 'campaign 1');
  assert.equal(run(env, 'stabilize log-level=none'), 'ok');
  assert.equal(env.output.lvl, 0);
  assert.equal(run(env, 'propose 1 x'), 'ok');
  assert.match(run(env, 'process-ready 1'), /^Ready MustSync=true:\nEntries:\n1\/4 EntryNormal "x"\n/);
});

test('async storage writes: work is queued for the append and apply threads', () => {
  const env = new InteractionEnv();
  run(env, 'log-level none');
  run(env, 'add-nodes 1 voters=(1) index=2 async-storage-writes=true');
  run(env, 'campaign 1');
  run(env, 'log-level debug');
  assert.equal(run(env, 'process-append-thread 1'), 'no append work to perform');
  assert.equal(run(env, 'process-apply-thread 1'), 'no apply work to perform');
  const rd = run(env, 'process-ready 1');
  assert.match(rd, /1->AppendThread MsgStorageAppend .*Responses:\[\n {2}1->1 MsgVoteResp/);
  assert.equal(env.nodes[0].appendWork.length, 1);
  // Processing prints the message without its responses, then the released responses.
  assert.equal(
    run(env, 'process-append-thread 1'),
    'Processing:\n' +
      '1->AppendThread MsgStorageAppend Term:1 Log:0/0 Commit:2 Vote:1\n' +
      'Responses:\n' +
      '1->1 MsgVoteResp Term:1 Log:0/0\n',
  );
  assert.equal(env.messages.length, 1);
  assert.equal(env.nodes[0].storage.initialState().hardState.vote, 1n);
  run(env, 'log-level none');
  run(env, 'stabilize');
  assert.equal(env.nodes[0].rawNode.status().raftState, 2);
  assert.equal(env.nodes[0].appendWork.length + env.nodes[0].applyWork.length + env.messages.length, 0);
});

test('propose-conf-change argument errors', () => {
  const env = new InteractionEnv();
  run(env, 'log-level none');
  run(env, 'add-nodes 1 voters=(1) index=2');
  assert.equal(
    run(env, 'propose-conf-change 1 v1=true', 'v2 v3'),
    'v1 conf change can only have one operation and no transition',
  );
  assert.equal(run(env, 'propose-conf-change 1 transition=sideways', 'v2'), 'unknown transition sideways');
  assert.equal(run(env, 'propose-conf-change 1 colour=red', 'v2'), 'unknown command colour');
  assert.equal(run(env, 'propose-conf-change 1 v1=yes', 'v2'), 'strconv.ParseBool: parsing "yes": invalid syntax');
  assert.equal(run(env, 'propose-conf-change 1', 'q2'), 'unknown input: q2');
  // No leader yet: raft drops the proposal.
  assert.equal(run(env, 'propose-conf-change 1', 'v2'), 'raft proposal dropped');
});
