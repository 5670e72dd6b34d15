// The receiving end of peer traffic: admits each request (cluster ID, addressee, removed sender),
// decodes the long-lived message streams frame by frame into handler.process, and receives
// snapshots: database bytes to handler.saveSnapshotDb (verified by sha256), then the MsgSnap.

import { constants as h2c, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { finished } from 'node:stream/promises';
import { decodeMessage } from '../raft/raftpb/codec.js';
import { type Message, MessageType, type NodeId } from '../raft/raftpb/types.js';
import type { RaftHandler } from './handler.js';
import { FrameDecoder } from './frame.js';
import { admit, H_CLUSTER_ID, H_REMOVED, idHex, type Rejection, SNAPSHOT_PATH, STREAM_PATH } from './headers.js';
import type { ResolvedOptions } from './options.js';
import { SnapshotBodyError, SnapshotBodyParser } from './snapshotBody.js';

export interface ReceiveStats {
  /** Messages delivered to the handler. */
  messages: number;
  /** Data chunks read from message streams (fewer than messages when the sender batches). */
  chunks: number;
  bytes: number;
  snapshots: number;
}

export class PeerReceiver {
  private readonly streamsFrom = new Map<NodeId, Set<ServerHttp2Stream>>();
  private readonly snapshotStreams = new Set<ServerHttp2Stream>();
  private readonly handler: RaftHandler;
  private readonly cidHex: string;
  readonly stats: ReceiveStats = { messages: 0, chunks: 0, bytes: 0, snapshots: 0 };
  /** Bytes received on message streams, per sending peer (kept after its streams close). */
  readonly bytesFrom = new Map<NodeId, { bytes: number }>();
  private closed = false;

  constructor(private readonly o: ResolvedOptions) {
    this.handler = o.handler;
    this.cidHex = idHex(o.clusterId);
  }

  /** Serves a peer request; false when the path is not a raft path (the caller serves it). */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    const path = headers[':path'];
    if (path !== STREAM_PATH && path !== SNAPSHOT_PATH) return false;
    stream.on('error', () => {}); // a peer resetting its stream is routine
    if (this.closed) {
      this.respond(stream, 503, 'transport stopped');
      return true;
    }
    if (headers[':method'] !== 'POST') {
      this.respond(stream, 405, 'Method Not Allowed', { allow: 'POST' });
      return true;
    }
    const adm = admit(headers, this.o.id, this.o.clusterId, (id) => this.handler.isIdRemoved(id), this.o.logger);
    if ('status' in adm) {
      this.reject(stream, adm);
      return true;
    }
    if (path === STREAM_PATH) this.acceptMessages(stream, adm.from);
    else {
      this.receiveSnapshot(stream, adm.from).catch((err: Error) => {
        this.o.logger.warning(`failed to receive snapshot local-member-id=${idHex(this.o.id)} error="${err.message}"`);
        stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
      });
    }
    return true;
  }

  /** Closes the message streams from `id` (it was removed). */
  closeFrom(id: NodeId): void {
    const set = this.streamsFrom.get(id);
    if (!set) return;
    for (const s of set) s.close(h2c.NGHTTP2_CANCEL);
    this.streamsFrom.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.streamsFrom.keys()]) this.closeFrom(id);
    for (const s of this.snapshotStreams) s.close(h2c.NGHTTP2_CANCEL);
    this.snapshotStreams.clear();
  }

  private acceptMessages(stream: ServerHttp2Stream, from: NodeId): void {
    stream.respond({ ':status': 200, [H_CLUSTER_ID]: this.cidHex }, { endStream: false });
    let set = this.streamsFrom.get(from);
    if (!set) this.streamsFrom.set(from, (set = new Set()));
    set.add(stream);
    const lg = this.o.logger;
    lg.info(`established stream from remote peer local-member-id=${idHex(this.o.id)} remote-peer-id=${idHex(from)}`);

    const handler = this.handler;
    const stats = this.stats;
    let fromStats = this.bytesFrom.get(from);
    if (fromStats === undefined) this.bytesFrom.set(from, (fromStats = { bytes: 0 }));
    const peerStats = fromStats;
    const onFrame = (frame: Buffer): void => {
      const m = decodeMessage(frame);
      stats.messages++;
      try {
        const r = handler.process(m);
        if (r !== undefined) (r as Promise<void>).catch((err: Error) => this.processFailed(err));
      } catch (err) {
        this.processFailed(err as Error);
      }
    };
    const decoder = new FrameDecoder(this.o.maxFrameBytes);
    stream.on('data', (chunk: Buffer) => {
      stats.chunks++;
      stats.bytes += chunk.length;
      peerStats.bytes += chunk.length;
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        lg.warning(
          `failed to decode raft message local-member-id=${idHex(this.o.id)} remote-peer-id=${idHex(from)} ` +
            `error="${(err as Error).message}"`,
        );
        stream.close(h2c.NGHTTP2_PROTOCOL_ERROR);
      }
    });
    // The sender ended its stream (it is stopping): end ours so the session can close cleanly.
    stream.on('end', () => {
      if (!stream.closed) stream.end();
    });
    stream.on('close', () => {
      set.delete(stream);
      if (set.size === 0 && this.streamsFrom.get(from) === set) this.streamsFrom.delete(from);
      lg.info(`lost stream from remote peer local-member-id=${idHex(this.o.id)} remote-peer-id=${idHex(from)}`);
    });
  }

  private processFailed(err: Error): void {
    this.o.logger.warning(`failed to process Raft message local-member-id=${idHex(this.o.id)} error="${err.message}"`);
  }

  private async receiveSnapshot(stream: ServerHttp2Stream, from: NodeId): Promise<void> {
    const lg = this.o.logger;
    const ids = `local-member-id=${idHex(this.o.id)} remote-snapshot-sender-id=${idHex(from)}`;
    this.snapshotStreams.add(stream);
    stream.on('close', () => this.snapshotStreams.delete(stream));
    stream.setTimeout(this.o.snapshotIdleTimeoutMs, () => stream.close(h2c.NGHTTP2_CANCEL));

    const parser = new SnapshotBodyParser(this.o.maxFrameBytes);
    let bodyErr: Error | null = null;
    parser.on('error', (err: Error) => {
      bodyErr ??= err;
    });
    stream.on('aborted', () => parser.destroy(new SnapshotBodyError('snapshot transfer aborted by sender')));
    stream.pipe(parser);

    let m: Message;
    try {
      m = await new Promise<Message>((resolve, reject) => {
        parser.once('message', resolve);
        parser.once('error', reject);
      });
    } catch (err) {
      lg.warning(`failed to decode Raft message ${ids} error="${(err as Error).message}"`);
      this.failSnapshot(stream, parser, 400, `failed to decode raft message (${(err as Error).message})`);
      return;
    }
    if (m.type !== MessageType.MsgSnap) {
      lg.warning(`unexpected Raft message type ${ids} message-type=${MessageType[m.type]}`);
      this.failSnapshot(stream, parser, 400, 'wrong raft message type');
      return;
    }
    const index = m.snapshot?.metadata.index ?? 0;
    lg.info(`receiving database snapshot ${ids} incoming-snapshot-index=${index}`);
    try {
      await this.handler.saveSnapshotDb(index, parser);
      // A handler that did not read everything still gets the hash checked before Raft sees m.
      if (!parser.readableEnded) {
        parser.resume();
        await finished(parser);
      }
    } catch (err) {
      const e = bodyErr ?? (err as Error);
      lg.warning(`failed to save incoming database snapshot ${ids} incoming-snapshot-index=${index} error="${e.message}"`);
      if (bodyErr) this.failSnapshot(stream, parser, 400, `failed to receive KV snapshot (${e.message})`);
      else this.failSnapshot(stream, parser, 500, `failed to save KV snapshot (${e.message})`);
      return;
    }
    lg.info(
      `received and saved database snapshot ${ids} incoming-snapshot-index=${index} ` +
        `incoming-snapshot-size-bytes=${parser.dbBytes}`,
    );
    try {
      await this.handler.process(m);
    } catch (err) {
      this.processFailed(err as Error);
      this.respond(stream, 500, `failed to process raft message (${(err as Error).message})`);
      return;
    }
    this.stats.snapshots++;
    this.respond(stream, 204, '');
  }

  /** Answers an error before the body was consumed; the rest of the body is read and dropped. */
  private failSnapshot(stream: ServerHttp2Stream, parser: SnapshotBodyParser, status: number, body: string): void {
    stream.unpipe(parser);
    parser.destroy();
    stream.resume();
    this.respond(stream, status, body);
  }

  private reject(stream: ServerHttp2Stream, r: Rejection): void {
    stream.resume();
    this.respond(stream, r.status, r.body, r.removed ? { [H_REMOVED]: 'true' } : undefined);
  }

  private respond(stream: ServerHttp2Stream, status: number, body: string, extra?: Record<string, string>): void {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    const headers = { ':status': status, [H_CLUSTER_ID]: this.cidHex, ...extra };
    if (body === '') {
      stream.respond(headers, { endStream: true });
      return;
    }
    stream.respond({ ...headers, 'content-type': 'text/plain; charset=utf-8' });
    stream.end(body + '\n');
  }
}
