// Golden transcripts for e2e tests: runs etcdctl commands against a Cluster, records
// "$ etcdctl <args>" followed by the output, and normalises what legitimately differs between servers
// and runs (ports, member/cluster IDs, lease IDs, raft term/index, db size, version, timings,
// client-side log timestamps), so the text can be compared byte for byte with one recorded from etcd.
// Revisions, keys, values, counts, error texts and gRPC codes are kept exactly.

import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { Cluster, sleep, type RunResult, type Streaming } from './cluster.js';

/** Splits a command line on blanks; '...' quotes an argument (so '' is the empty string). */
export function splitArgs(cmd: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|(\S+)/g;
  for (let m = re.exec(cmd); m; m = re.exec(cmd)) out.push(m[1] ?? m[2]);
  return out;
}

function toHex(dec: string): string {
  return BigInt(dec).toString(16);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `end` condition: n watch events printed in the simple format. */
export function events(n: number): (stdout: string) => boolean {
  return (o) => (o.match(/^(PUT|DELETE)$/gm)?.length ?? 0) >= n;
}

/** `end` condition: n lines printed (one JSON watch response or keep-alive per line). */
export function lines(n: number): (stdout: string) => boolean {
  return (o) => o.split('\n').length - 1 >= n;
}

const DURATION = /^\d+(\.\d+)?(ns|µs|us|ms|s|m)$/;

export class Session {
  private readonly out: string[] = [];
  /** Exact ID text (decimal or hex) -> placeholder, longest first when applied. */
  private readonly ids = new Map<string, string>();
  private readonly leases: string[] = [];

  private constructor(readonly cluster: Cluster) {}

  /** Learns every running member's ID and the cluster ID so they can be replaced by placeholders. */
  static async open(cluster: Cluster): Promise<Session> {
    const s = new Session(cluster);
    for (let i = 0; i < cluster.size; i++) {
      if (!cluster.isRunning(i)) continue;
      const st = await cluster.status(i);
      s.addId(st.memberId, `<MEMBER${i}>`);
      s.addId(st.clusterId, '<CLUSTER>');
    }
    return s;
  }

  private addId(dec: string, placeholder: string): void {
    if (this.ids.has(dec)) return;
    // etcdctl prints IDs as %x (member IDs) or %016x (lease IDs): learn both spellings.
    this.ids.set(dec, placeholder);
    this.ids.set(toHex(dec), placeholder);
    this.ids.set(toHex(dec).padStart(16, '0'), placeholder);
  }

  /** Hex ID of the n-th lease (1-based) seen in any output so far. */
  lease(n: number): string {
    const hex = this.leases[n - 1]?.padStart(16, '0');
    if (!hex) throw new Error(`no lease #${n} granted yet`);
    return hex;
  }

  /** Replaces <LEASEn> in a command with the real lease ID. */
  private expand(cmd: string): string {
    return cmd.replace(/<LEASE(\d+)>/g, (_, n: string) => this.lease(Number(n)));
  }

  private learnLeases(text: string): void {
    const add = (dec: string) => {
      if (this.ids.has(dec)) return;
      this.leases.push(toHex(dec));
      this.addId(dec, `<LEASE${this.leases.length}>`);
    };
    for (const m of text.matchAll(/^lease ([0-9a-f]+) granted with TTL\(/gm)) add(BigInt('0x' + m[1]).toString());
    for (const m of text.matchAll(/"ID":(\d+),"TTL":/g)) add(m[1]);
    for (const m of text.matchAll(/^"ID" : (\d+)$/gm)) add(m[1]);
  }

  /** Runs `etcdctl <cmd>` and records it; returns the raw result. */
  async ctl(cmd: string, opts: { stdin?: string; endpoints?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await this.cluster.etcdctl(splitArgs(this.expand(cmd)), opts);
    this.record(cmd, r.stdout, r.stderr, r.code, r.timedOut);
    return r;
  }

  /** Starts a long-running `etcdctl <cmd>` (watch, lease keep-alive); finish it with `end`. */
  start(cmd: string): { cmd: string; proc: Streaming } {
    return { cmd, proc: this.cluster.etcdctlStream(splitArgs(this.expand(cmd))) };
  }

  /**
   * Waits until the streaming command's stdout satisfies `done` (then a short settle, as etcdctl writes
   * an event's lines one by one), stops it and records its stdout.
   */
  async end(h: { cmd: string; proc: Streaming }, done: (stdout: string) => boolean, timeoutMs = 10_000): Promise<string> {
    try {
      await h.proc.waitFor(done, timeoutMs);
      await sleep(150);
    } finally {
      await h.proc.stop();
      this.record(h.cmd, h.proc.stdout, '', 0, false);
    }
    return h.proc.stdout;
  }

  private record(cmd: string, stdout: string, stderr: string, code: number | null, timedOut: boolean): void {
    this.learnLeases(stdout);
    let text = `$ etcdctl ${cmd}\n${stdout}`;
    if (stdout && !stdout.endsWith('\n')) text += '\n';
    for (const line of stderr.split('\n')) if (line) text += `! ${line}\n`;
    if (timedOut) text += '(timed out)\n';
    else if (code !== 0) text += `(exit ${code})\n`;
    this.out.push(this.normalise(cmd, text));
  }

  /** The normalised transcript so far. */
  text(): string {
    return this.out.join('');
  }

  normalise(cmd: string, text: string): string {
    // Ports differ per run: name endpoints by member index.
    this.cluster.members.forEach((m, i) => {
      text = text.replace(new RegExp(`127\\.0\\.0\\.1:${m.clientPort}\\b`, 'g'), `<EP${i}>`);
    });
    const keys = [...this.ids.keys()].sort((a, b) => b.length - a.length);
    for (const k of keys) text = text.replace(new RegExp(`\\b${escapeRe(k)}\\b`, 'g'), this.ids.get(k)!);
    text = text
      // raft term and indexes, db sizes, server version: server- and run-specific.
      .replace(/"raft_term":\d+/g, '"raft_term":<TERM>')
      .replace(/"RaftTerm" : \d+/g, '"RaftTerm" : <TERM>')
      .replace(/"raftTerm":\d+/g, '"raftTerm":<TERM>')
      .replace(/"(raftIndex|raftAppliedIndex|dbSize|dbSizeInUse)":\d+/g, '"$1":<$1>')
      .replace(/"version":"[^"]*"/g, '"version":"<VERSION>"')
      // client-side log lines of etcdctl: timestamps and a random client UUID.
      .replace(/"ts":"[^"]*"/g, '"ts":"<TS>"')
      .replace(/endpoint:\/\/client-[0-9a-f-]+\//g, 'endpoint://client-<UUID>/')
      // timings
      .replace(/took = \d+(\.\d+)?(ns|µs|us|ms|s)/g, 'took = <TOOK>')
      .replace(/"took":"[^"]*"/g, '"took":"<TOOK>"');
    text = normaliseRemaining(text);
    if (/^endpoint status\b/.test(cmd)) text = normaliseStatusRows(text);
    return normaliseTables(text);
  }
}

// A lease's remaining TTL depends on timing; it is accepted when within 5 s below the granted TTL.
function normaliseRemaining(text: string): string {
  text = text.replace(/TTL\((\d+)s\), remaining\((\d+)s\)/g, (all, g: string, r: string) =>
    Number(r) <= Number(g) && Number(g) - Number(r) <= 5 ? `TTL(${g}s), remaining(<REM>s)` : all,
  );
  return text.replace(/"ttl":(\d+),"granted-ttl":(\d+)/g, (all, r: string, g: string) =>
    Number(r) <= Number(g) && Number(g) - Number(r) <= 5 ? `"ttl":<REM>,"granted-ttl":${g}` : all,
  );
}

// `endpoint status` simple and table rows: version, db size, raft term/index columns.
function normaliseStatusRows(text: string): string {
  const fix = (cells: string[]): string[] => {
    if (cells.length < 9 || cells[0] === 'ENDPOINT') return cells;
    const c = [...cells];
    c[2] = '<VERSION>';
    c[3] = '<DBSIZE>';
    c[6] = '<TERM>';
    c[7] = '<raftIndex>';
    c[8] = '<raftAppliedIndex>';
    return c;
  };
  return text
    .split('\n')
    .map((line) => {
      if (/^\|.*\|$/.test(line)) {
        const cells = line.slice(1, -1).split('|').map((x) => x.trim());
        return '| ' + fix(cells).join(' | ') + ' |';
      }
      if (/^<EP\d+>, /.test(line)) return fix(line.split(', ')).join(', ');
      return line;
    })
    .join('\n');
}

// Table column widths follow the (normalised) cell contents, so borders and padding are normalised.
function normaliseTables(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (/^\+[-+]+\+$/.test(line)) return '+---+';
      if (/^\|.*\|$/.test(line)) {
        const cells = line
          .slice(1, -1)
          .split('|')
          .map((x) => x.trim())
          .map((x) => (DURATION.test(x) ? '<TOOK>' : x));
        return '| ' + cells.join(' | ') + ' |';
      }
      return line;
    })
    .join('\n');
}

/**
 * Asserts a transcript equals its golden text. With E2E_RECORD=<dir>, also writes the actual text to
 * <dir>/<name>.txt (how the goldens were recorded from real etcd).
 */
export function expectTranscript(name: string, actual: string, expected: string, logs: () => string): void {
  const dir = process.env.E2E_RECORD;
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.txt`), actual);
  }
  try {
    assert.equal(actual, expected);
  } catch (e) {
    // Keep assert's diff and add the server logs, which usually explain the difference.
    (e as Error).message = `transcript "${name}" differs from etcd's\n${(e as Error).message}\n${logs()}`;
    throw e;
  }
}
