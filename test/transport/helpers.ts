// Test fixtures for the transport: a recording RaftHandler, members (Transport + PeerServer) on
// 127.0.0.1 ephemeral ports, a capturing logger and a polling wait.

import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RaftHandler } from '../../src/transport/handler.js';
import type { TransportLogger, TransportOptions } from '../../src/transport/options.js';
import { PeerServer, Transport } from '../../src/transport/index.js';
import { type Message, MessageType, newMessage, type NodeId } from '../../src/raft/raftpb/types.js';

export class RecordingHandler implements RaftHandler {
  readonly received: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshots: { id: NodeId; ok: boolean }[] = [];
  readonly critical: Error[] = [];
  readonly removed = new Set<NodeId>();
  /** Where saveSnapshotDb writes; null keeps bytes in `savedDb`. */
  dbDir: string | null = null;
  savedDb: Buffer[] = [];
  saveErrors: Error[] = [];
  failSave: Error | null = null;
  processOrder: string[] = [];

  process(m: Message): void {
    this.received.push(m);
    this.processOrder.push(`process:${MessageType[m.type]}`);
  }
  reportUnreachable(id: NodeId): void {
    this.unreachable.push(id);
  }
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.snapshots.push({ id, ok });
  }
  isIdRemoved(id: NodeId): boolean {
    return this.removed.has(id);
  }
  reportCriticalError(err: Error): void {
    this.critical.push(err);
  }
  async saveSnapshotDb(index: number, db: Readable): Promise<void> {
    try {
      if (this.failSave) {
        db.resume();
        throw this.failSave;
      }
      if (this.dbDir !== null) {
        const tmp = `${this.dbDir}/${index.toString(16).padStart(16, '0')}.snap.db.tmp`;
        try {
          await pipeline(db, fs.createWriteStream(tmp));
        } catch (err) {
          fs.rmSync(tmp, { force: true });
          throw err;
        }
        fs.renameSync(tmp, tmp.slice(0, -4));
      } else {
        const parts: Buffer[] = [];
        for await (const c of db) parts.push(c as Buffer);
        this.savedDb.push(Buffer.concat(parts));
      }
      this.processOrder.push(`saved:${index}`);
    } catch (err) {
      this.saveErrors.push(err as Error);
      throw err;
    }
  }
}

export class CapturingLogger implements TransportLogger {
  readonly lines: string[] = [];
  debug(t: string): void {
    this.lines.push(`DEBUG ${t}`);
  }
  info(t: string): void {
    this.lines.push(`INFO ${t}`);
  }
  warning(t: string): void {
    this.lines.push(`WARN ${t}`);
  }
  error(t: string): void {
    this.lines.push(`ERROR ${t}`);
  }
  has(fragment: string): boolean {
    return this.lines.some((l) => l.includes(fragment));
  }
}

export interface Member {
  id: NodeId;
  handler: RecordingHandler;
  logger: CapturingLogger;
  transport: Transport;
  server: PeerServer;
  url: string;
}

export const CLUSTER = 0xc1a5ef00d5n;

export async function startMember(
  id: NodeId,
  opts: Partial<TransportOptions> & { port?: number } = {},
): Promise<Member> {
  const handler = new RecordingHandler();
  const logger = new CapturingLogger();
  const { port, ...rest } = opts;
  const transport = new Transport({
    id,
    clusterId: CLUSTER,
    handler,
    logger,
    backoffMinMs: 20,
    backoffMaxMs: 100,
    ...rest,
  });
  const server = new PeerServer((s, h) => transport.handleStream(s, h), { port });
  await server.start();
  return { id, handler, logger, transport, server, url: server.url };
}

/** Starts members, connects each to all others, and starts the transports. */
export async function startCluster(ids: NodeId[], opts: Partial<TransportOptions> = {}): Promise<Member[]> {
  const ms = await Promise.all(ids.map((id) => startMember(id, opts)));
  for (const a of ms) for (const b of ms) if (a !== b) a.transport.addPeer(b.id, [b.url]);
  for (const m of ms) m.transport.start();
  return ms;
}

export async function stopAll(ms: Member[]): Promise<void> {
  await Promise.all(ms.map(async (m) => {
    await m.transport.stop();
    await m.server.stop();
  }));
}

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export function app(from: NodeId, to: NodeId, index: number, data = 'x'): Message {
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 3,
    logTerm: 3,
    index,
    commit: index,
    entries: [{ term: 3, index: index + 1, type: 0, data: Buffer.from(data) }],
  });
}

export function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return newMessage({ type: MessageType.MsgHeartbeat, from, to, term: 3, commit });
}
