// One remote member as seen by the sender: a long-lived HTTP/2 session to it carrying one request
// stream of framed messages. send() only queues (bounded); the transport flushes each queue in one
// write per event-loop turn. A dead session drops its queue, reports the peer unreachable and
// reconnects with exponential backoff; while it is down, messages are dropped and reported at once.

import * as http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { type Message, type NodeId } from '../raft/raftpb/types.js';
import { encodeFrames } from './frame.js';
import { ERR_MEMBER_REMOVED, idHex, refusal, requestHeaders, STREAM_PATH } from './headers.js';
import { http2Settings, MAX_SESSION_MEMORY_MB, type ResolvedOptions } from './options.js';

type State = 'idle' | 'connecting' | 'active' | 'backoff' | 'stopped';

export interface PeerStats {
  /** Messages written to the stream. */
  sentMessages: number;
  /** Stream writes (each carries one or more messages). */
  writes: number;
  sentBytes: number;
  /** Messages dropped (queue full, peer down, session lost with messages queued). */
  dropped: number;
}

/** Parses peer URLs to origins, rejecting what HTTP/2 cannot dial. */
export function parsePeerUrls(urls: string[]): URL[] {
  if (urls.length === 0) throw new Error('peer has no URLs');
  return urls.map((u) => {
    const url = new URL(u);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported peer URL scheme: ${u}`);
    return url;
  });
}

export class Peer {
  private urls: URL[];
  private urlIndex = 0;
  /** The URLs changed and the session's URL is not among them: the next dial starts at urls[0]. */
  private freshUrls = false;
  private state: State = 'idle';
  private session: http2.ClientHttp2Session | null = null;
  private stream: http2.ClientHttp2Stream | null = null;
  /** Pending messages are queue[head..]; the array is reset when drained. */
  private queue: Message[] = [];
  private head = 0;
  private waitingDrain = false;
  /** Set while the transport holds this peer in its flush list. */
  scheduled = false;
  /** Bumped on every (re)connect or teardown; events of older sessions are ignored. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingSentAt = -1;
  private backoffMs: number;
  private lastUnreachable = -Infinity;
  private since = 0;
  private closing: Promise<void> | null = null;
  readonly stats: PeerStats = { sentMessages: 0, writes: 0, sentBytes: 0, dropped: 0 };

  constructor(
    readonly id: NodeId,
    urls: string[],
    private readonly o: ResolvedOptions,
    private readonly schedule: (p: Peer) => void,
  ) {
    this.urls = parsePeerUrls(urls);
    this.backoffMs = o.backoffMinMs;
  }

  /** When the stream became active (ms since epoch), 0 while not active. */
  get activeSince(): number {
    return this.since;
  }

  get isActive(): boolean {
    return this.state === 'active';
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** The peer's URLs (for snapshot requests), current one first. */
  pickUrls(): URL[] {
    const i = this.urlIndex % this.urls.length;
    return [...this.urls.slice(i), ...this.urls.slice(0, i)];
  }

  start(): void {
    if (this.state === 'idle') this.connect();
  }

  enqueue(m: Message): void {
    const st = this.state;
    if (st === 'stopped') return;
    if (st === 'backoff') {
      this.drop('peer is unreachable');
      return;
    }
    if (this.queue.length - this.head >= this.o.maxQueuedMessages) {
      this.drop('sending buffer is full');
      return;
    }
    this.queue.push(m);
    if (st === 'active' && !this.scheduled && !this.waitingDrain) this.schedule(this);
  }

  /** Writes queued messages in as few writes as the stream's buffer allows. */
  flush(): void {
    const stream = this.stream;
    if (this.state !== 'active' || stream === null) return;
    while (this.head < this.queue.length) {
      if (stream.writableNeedDrain) {
        if (!this.waitingDrain) {
          this.waitingDrain = true;
          const gen = this.generation;
          stream.once('drain', () => {
            this.waitingDrain = false;
            if (gen === this.generation) this.flush();
          });
        }
        if (this.head >= 1024) {
          // Never fully drained under steady load: drop the sent prefix so the array stays bounded.
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        return;
      }
      const { buf, count } = encodeFrames(this.queue, this.head, this.o.maxWriteBytes);
      this.head += count;
      stream.write(buf);
      this.stats.writes++;
      this.stats.sentMessages += count;
      this.stats.sentBytes += buf.length;
    }
    this.queue = [];
    this.head = 0;
  }

  /**
   * Changes the peer's URLs. As etcd's picker update, a working session is kept: the new URLs are
   * used from the next dial on. Only a dial still in progress to a URL no longer listed is redone.
   */
  update(urls: string[]): void {
    const current = this.urls[this.urlIndex % this.urls.length].origin;
    this.urls = parsePeerUrls(urls);
    const i = this.urls.findIndex((u) => u.origin === current);
    this.urlIndex = i < 0 ? 0 : i;
    if (i >= 0) return;
    this.freshUrls = true;
    if (this.state === 'connecting') {
      void this.teardown(false);
      this.connect();
    }
  }

  /** Stops for good; resolves when the session is closed. */
  stop(): Promise<void> {
    if (this.closing) return this.closing;
    this.flush();
    const graceful = this.state === 'active';
    this.state = 'stopped';
    this.queue = [];
    this.head = 0;
    this.closing = this.teardown(graceful);
    return this.closing;
  }

  private connect(): void {
    const gen = ++this.generation;
    this.state = 'connecting';
    this.freshUrls = false;
    const url = this.urls[this.urlIndex % this.urls.length];
    const session = http2.connect(url.origin, {
      settings: http2Settings,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      ...(url.protocol === 'https:' ? this.o.tls : undefined),
    });
    this.session = session;
    session.on('error', (err) => this.fail(gen, err.message));
    session.on('close', () => this.fail(gen, 'connection closed'));
    const stream = session.request(requestHeaders(STREAM_PATH, this.o.id, this.id, this.o.clusterId), {
      endStream: false,
    });
    this.stream = stream;
    stream.on('response', (h) => this.onResponse(gen, stream, h));
    stream.on('error', (err) => this.fail(gen, err.message));
    stream.on('close', () => this.fail(gen, 'stream closed'));
    this.timer = setTimeout(() => this.fail(gen, 'dial timeout'), this.o.dialTimeoutMs);
  }

  private onResponse(gen: number, stream: http2.ClientHttp2Stream, h: http2.IncomingHttpHeaders): void {
    if (gen !== this.generation) return;
    const status = Number(h[':status'] ?? 0);
    if (status === 200) {
      this.clearTimer();
      this.state = 'active';
      this.backoffMs = this.o.backoffMinMs;
      this.since = Date.now();
      this.o.logger.info(`peer became active peer-id=${idHex(this.id)}`);
      stream.resume(); // the response carries no data; keep it flowing so 'end' is seen
      this.startPing(gen);
      this.flush();
      return;
    }
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      if (body.length < 1024) body += d;
    });
    stream.on('end', () => {
      const [err, removed] = refusal(status, body, h, this.o.id, this.o.clusterId, this.id, this.o.logger);
      if (removed) {
        this.o.logger.error(`${ERR_MEMBER_REMOVED} remote-peer-id=${idHex(this.id)}`);
        this.o.handler.reportCriticalError?.(err);
      }
      this.fail(gen, err.message);
    });
  }

  private startPing(gen: number): void {
    this.pingSentAt = -1;
    this.pingTimer = setInterval(() => {
      const session = this.session;
      if (gen !== this.generation || session === null) return;
      const now = performance.now();
      if (this.pingSentAt >= 0) {
        if (now - this.pingSentAt > this.o.pingTimeoutMs) this.fail(gen, 'ping timeout');
        return;
      }
      this.pingSentAt = now;
      session.ping((err) => {
        if (gen === this.generation && !err) this.pingSentAt = -1;
      });
    }, this.o.pingIntervalMs);
  }

  /** The session (or the attempt to open it) failed: drop, report, and retry later. */
  private fail(gen: number, reason: string): void {
    if (gen !== this.generation || this.state === 'stopped' || this.state === 'backoff') return;
    const wasActive = this.state === 'active';
    void this.teardown(false);
    const lost = this.queue.length - this.head;
    this.stats.dropped += lost;
    this.queue = [];
    this.head = 0;
    const detail = `peer-id=${idHex(this.id)} error="failed to write ${idHex(this.id)} on stream (${reason})"`;
    if (wasActive) this.o.logger.warning(`peer became inactive (message send to peer failed) ${detail}`);
    else this.o.logger.debug?.(`peer deactivated again ${detail}`);
    this.reportUnreachable();
    if (this.freshUrls) this.freshUrls = false;
    else this.urlIndex++;
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.connect();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoffMaxMs);
  }

  private drop(why: string): void {
    this.stats.dropped++;
    if (this.reportUnreachable()) {
      this.o.logger.warning(
        `dropped internal Raft message since ${why} local-member-id=${idHex(this.o.id)} ` +
          `remote-peer-id=${idHex(this.id)} remote-peer-active=${this.state === 'active'}`,
      );
    }
  }

  /** Reports the peer unreachable unless it was reported within the interval; true if reported. */
  private reportUnreachable(): boolean {
    const now = performance.now();
    if (now - this.lastUnreachable < this.o.unreachableIntervalMs) return false;
    this.lastUnreachable = now;
    this.o.handler.reportUnreachable(this.id);
    return true;
  }

  /** Drops the current session and its timers; `graceful` ends the stream and closes it first. */
  private teardown(graceful: boolean): Promise<void> {
    this.generation++;
    this.clearTimer();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.since = 0;
    this.waitingDrain = false;
    const session = this.session;
    const stream = this.stream;
    this.session = null;
    this.stream = null;
    if (session === null || session.destroyed) return Promise.resolve();
    if (!graceful || stream === null || stream.destroyed) {
      session.destroy();
      return Promise.resolve();
    }
    return closeGracefully(session, stream);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Ends the stream and closes the session, letting written frames reach the peer; destroys it if
 * that takes too long. (A session closed and then destroyed may never emit 'close', so the timer
 * resolves too.)
 */
function closeGracefully(session: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      session.destroy();
      resolve();
    }, 500);
    session.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    stream.end();
    session.close();
  });
}
