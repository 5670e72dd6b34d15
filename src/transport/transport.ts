// The Transport: the server's one handle on peer communication. It owns a Peer (outgoing stream)
// per remote member, batches sends into one write per peer per event-loop turn, sends snapshots on
// their own requests, and serves incoming peer requests through its PeerReceiver.

import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { type Message, MessageType, None, type NodeId } from '../raft/raftpb/types.js';
import { idHex } from './headers.js';
import { resolveOptions, type ResolvedOptions, type TransportOptions } from './options.js';
import { Peer, type PeerStats } from './peer.js';
import { PeerReceiver, type ReceiveStats } from './receiver.js';
import { type SnapshotDb, SnapshotSendError, SnapshotSender } from './snapshotSender.js';

export class Transport {
  private readonly o: ResolvedOptions;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly receiver: PeerReceiver;
  private readonly snapshots: SnapshotSender;
  private readonly stopping = new Set<Promise<void>>();
  private dirty: Peer[] = [];
  private flushPending = false;
  private started = false;
  private stopped = false;

  constructor(opts: TransportOptions) {
    this.o = resolveOptions(opts);
    this.receiver = new PeerReceiver(this.o);
    this.snapshots = new SnapshotSender(this.o);
  }

  get id(): NodeId {
    return this.o.id;
  }

  /** Starts connecting to every known peer (peers added later connect at once). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const p of this.peers.values()) p.start();
  }

  /** Closes every session and incoming stream; resolves when the peer sessions are closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.receiver.close();
    this.snapshots.stop();
    const all = [...this.stopping, ...[...this.peers.values()].map((p) => p.stop())];
    this.peers.clear();
    await Promise.all(all);
  }

  addPeer(id: NodeId, urls: string[]): void {
    if (this.stopped || this.peers.has(id)) return;
    const p = new Peer(id, urls, this.o, this.scheduleFlush);
    this.peers.set(id, p);
    this.o.logger.info(`added remote peer local-member-id=${idHex(this.o.id)} remote-peer-id=${idHex(id)} ` +
      `remote-peer-urls=${urls.join(',')}`);
    if (this.started) p.start();
  }

  /** Stops sending to `id` and closes its incoming streams. */
  removePeer(id: NodeId): Promise<void> {
    const p = this.peers.get(id);
    this.receiver.closeFrom(id);
    if (!p) return Promise.resolve();
    this.peers.delete(id);
    const done = p.stop();
    this.stopping.add(done);
    void done.then(() => this.stopping.delete(done));
    this.o.logger.info(`removed remote peer local-member-id=${idHex(this.o.id)} removed-remote-peer-id=${idHex(id)}`);
    return done;
  }

  /** New URLs for `id`: its live session stays, later dials use them. */
  updatePeer(id: NodeId, urls: string[]): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    p.update(urls);
    this.o.logger.info(`updated remote peer local-member-id=${idHex(this.o.id)} updated-remote-peer-id=${idHex(id)} ` +
      `updated-remote-peer-urls=${urls.join(',')}`);
  }

  hasPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /**
   * Queues messages for their peers; they are written together once the current event-loop turn
   * ends. Messages to None or to unknown peers are ignored; MsgSnap without a database goes out as a
   * snapshot request (use sendSnapshot to attach the database). Messages are encoded at write
   * time, so they (and their entries' data) must not be mutated after this call.
   */
  send(msgs: readonly Message[]): void {
    if (!this.started || this.stopped) return;
    for (const m of msgs) {
      if (m.to === None) continue;
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.o.logger.debug?.(
          `ignored message send request; unknown remote peer target type=${MessageType[m.type]} ` +
            `unknown-target-peer-id=${idHex(m.to)}`,
        );
        continue;
      }
      if (m.type === MessageType.MsgSnap) void this.sendSnapshot(m, null);
      else p.enqueue(m);
    }
  }

  /**
   * Sends a MsgSnap with the backend database, then reports the outcome to Raft
   * (reportSnapshot, and reportUnreachable on failure). Resolves with that outcome.
   */
  async sendSnapshot(m: Message, db: SnapshotDb): Promise<boolean> {
    const h = this.o.handler;
    const lg = this.o.logger;
    const p = this.peers.get(m.to);
    if (!p || this.stopped) {
      if (db instanceof Readable) db.destroy();
      h.reportSnapshot(m.to, false);
      return false;
    }
    const index = m.snapshot?.metadata.index ?? 0;
    const ids = `snapshot-index=${index} remote-peer-id=${idHex(m.to)}`;
    const url = p.pickUrls()[0];
    lg.info(`sending database snapshot ${ids}`);
    try {
      const bytes = await this.snapshots.send(url, m, db);
      lg.info(`sent database snapshot ${ids} bytes=${bytes}`);
      h.reportSnapshot(m.to, true);
      return true;
    } catch (err) {
      lg.warning(`failed to send database snapshot ${ids} error="${(err as Error).message}"`);
      if (err instanceof SnapshotSendError && err.memberRemoved) h.reportCriticalError?.(err);
      h.reportUnreachable(m.to);
      h.reportSnapshot(m.to, false);
      return false;
    }
  }

  /** Serves a request arriving on the peer listener; false if it is not a raft path. */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    return this.receiver.handleStream(stream, headers);
  }

  /** When the stream to `id` became active (ms since epoch), 0 if it is not active. */
  activeSince(id: NodeId): number {
    return this.peers.get(id)?.activeSince ?? 0;
  }

  peerStats(id: NodeId): Readonly<PeerStats> | undefined {
    return this.peers.get(id)?.stats;
  }

  get receiveStats(): Readonly<ReceiveStats> {
    return this.receiver.stats;
  }

  /** Bytes received on message streams from each peer that ever opened one. */
  receivedBytesFrom(): ReadonlyMap<NodeId, { readonly bytes: number }> {
    return this.receiver.bytesFrom;
  }

  /** Remote peers this transport sends to (see activeSince for whether a stream is up). */
  peerIds(): IterableIterator<NodeId> {
    return this.peers.keys();
  }

  private readonly scheduleFlush = (p: Peer): void => {
    p.scheduled = true;
    this.dirty.push(p);
    if (!this.flushPending) {
      this.flushPending = true;
      setImmediate(this.flushAll);
    }
  };

  private readonly flushAll = (): void => {
    this.flushPending = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const p of dirty) {
      p.scheduled = false;
      p.flush();
    }
  };
}
