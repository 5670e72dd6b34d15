// Transport configuration: identities, limits, timings and the HTTP/2 settings both ends use, with
// etcd's rafthttp defaults where etcd has one.

import type { SecureClientSessionOptions } from 'node:http2';
import type { NodeId } from '../raft/raftpb/types.js';
import type { RaftHandler } from './handler.js';

/** Text logger (the raft Logger and the WAL logger fit it); lines carry `key=value` fields. */
export interface TransportLogger {
  debug?(text: string): void;
  info(text: string): void;
  warning(text: string): void;
  error(text: string): void;
}

export const nopLogger: TransportLogger = { info() {}, warning() {}, error() {} };

export interface TransportOptions {
  /** This member's ID. */
  id: NodeId;
  clusterId: NodeId;
  handler: RaftHandler;
  logger?: TransportLogger;
  /** Messages queued per peer before new ones are dropped (etcd's stream buffer: 4096). */
  maxQueuedMessages?: number;
  /** Bytes written to a peer stream in one write at most (more frames wait for the next one). */
  maxWriteBytes?: number;
  /** Largest frame (encoded message) accepted from a peer. */
  maxFrameBytes?: number;
  /** Time to establish a peer stream before the attempt counts as failed (etcd: 1 s). */
  dialTimeoutMs?: number;
  /** First and largest reconnect delay; the delay doubles after every failed attempt. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** reportUnreachable is called at most once per this interval per peer. */
  unreachableIntervalMs?: number;
  /** Session liveness: a PING every interval; no answer within the timeout kills the session. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** A snapshot request idle (no bytes either way) this long is abandoned. */
  snapshotIdleTimeoutMs?: number;
  /** TLS options for https peer URLs (CA, client certificate). */
  tls?: SecureClientSessionOptions;
}

export type ResolvedOptions = Required<Omit<TransportOptions, 'tls'>> & { tls?: SecureClientSessionOptions };

export function resolveOptions(o: TransportOptions): ResolvedOptions {
  return {
    logger: nopLogger,
    maxQueuedMessages: 4096,
    maxWriteBytes: 4 * 1024 * 1024,
    maxFrameBytes: 512 * 1024 * 1024,
    dialTimeoutMs: 1000,
    backoffMinMs: 50,
    backoffMaxMs: 1000,
    unreachableIntervalMs: 100,
    pingIntervalMs: 1000,
    pingTimeoutMs: 5000,
    snapshotIdleTimeoutMs: 30_000,
    ...stripUndefined(o),
  } as ResolvedOptions;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * HTTP/2 windows sized for bulk transfer: Node's 64 KiB defaults would cap one stream at
 * 64 KiB per round trip. Session memory is raised so a burst of appends is not refused.
 */
export const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
export const SESSION_WINDOW_BYTES = 32 * 1024 * 1024;
export const MAX_SESSION_MEMORY_MB = 128;

export const http2Settings = { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false };
