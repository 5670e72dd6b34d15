// Peer transport throughput on loopback: one member streams raft messages to another in Ready-sized
// batches (keeping a bounded number in flight so nothing is dropped) and we print messages/s and
// MB/s for heartbeats and for appends of a few entry sizes.
// Run: npx tsc -p tsconfig.json && node dist/bench/transport.bench.js [messages]

import { MessageType, newMessage, type Message, type NodeId } from '../src/raft/raftpb/types.js';
import type { RaftHandler } from '../src/transport/handler.js';
import { PeerServer, Transport } from '../src/transport/index.js';

const TOTAL = Number(process.argv[2] ?? 300_000);
const BATCH = 64;
const IN_FLIGHT = 2048;

class CountingHandler implements RaftHandler {
  received = 0;
  waiter: (() => void) | null = null;
  process(): void {
    this.received++;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }
  reportUnreachable(id: NodeId): void {
    throw new Error(`peer ${id} reported unreachable during the benchmark`);
  }
  reportSnapshot(): void {}
  isIdRemoved(): boolean {
    return false;
  }
  async saveSnapshotDb(): Promise<void> {}
}

function messages(kind: 'heartbeat' | number): Message[] {
  const out: Message[] = [];
  const data = typeof kind === 'number' ? Buffer.alloc(kind, 7) : Buffer.alloc(0);
  for (let i = 0; i < BATCH; i++) {
    out.push(
      kind === 'heartbeat'
        ? newMessage({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 9, commit: 1000 + i })
        : newMessage({
            type: MessageType.MsgApp,
            from: 1n,
            to: 2n,
            term: 9,
            logTerm: 9,
            index: 1000 + i,
            commit: 1000 + i,
            entries: [{ term: 9, index: 1001 + i, type: 0, data }],
          }),
    );
  }
  return out;
}

async function run(kind: 'heartbeat' | number): Promise<void> {
  const hb = new CountingHandler();
  const ha = new CountingHandler();
  const a = new Transport({ id: 1n, clusterId: 0xbe7n, handler: ha });
  const b = new Transport({ id: 2n, clusterId: 0xbe7n, handler: hb });
  const sb = new PeerServer((s, h) => b.handleStream(s, h));
  await sb.start();
  a.addPeer(2n, [sb.url]);
  a.start();
  const batch = messages(kind);
  // Warm up the connection (and the JIT).
  a.send(batch);
  while (hb.received < BATCH) await new Promise<void>((r) => (hb.waiter = r));

  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < TOTAL) {
    while (sent - (hb.received - BATCH) > IN_FLIGHT) await new Promise<void>((r) => (hb.waiter = r));
    a.send(batch);
    sent += BATCH;
    if ((sent / BATCH) % 4 === 0) await new Promise((r) => setImmediate(r));
  }
  while (hb.received - BATCH < sent) await new Promise<void>((r) => (hb.waiter = r));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;

  const st = a.peerStats(2n)!;
  const bytes = st.sentBytes * (sent / st.sentMessages);
  const label = kind === 'heartbeat' ? 'MsgHeartbeat' : `MsgApp, 1 entry of ${kind} B`;
  console.log(
    `${label.padEnd(26)} ${Math.round(sent / secs).toLocaleString('en').padStart(11)} msg/s  ` +
      `${(bytes / secs / 1e6).toFixed(1).padStart(7)} MB/s  ` +
      `${(st.sentMessages / st.writes).toFixed(1)} msgs/write  ${(hb.received / b.receiveStats.chunks).toFixed(1)} msgs/chunk`,
  );
  await a.stop();
  await b.stop();
  await sb.stop();
}

console.log(`transport: ${TOTAL.toLocaleString('en')} messages per run, batches of ${BATCH}, loopback`);
for (const kind of ['heartbeat', 128, 1024, 16 * 1024] as const) await run(kind);
