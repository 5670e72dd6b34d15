// The Maintenance service (etcd's v3rpc/maintenance.go): Status, Alarm, Hash, HashKV, Defragment,
// MoveLeader and Downgrade as unary calls, and Snapshot as a server stream of the backend file in
// 32 KiB chunks followed by one message holding the SHA-256 of everything sent (what
// `etcdctl snapshot save` writes to disk and `snapshot restore` verifies). Methods the server does
// not offer are left out, so the gRPC server answers Unimplemented.

import { createHash } from 'node:crypto';
import { ErrGRPCNoLeader, toGrpcError } from '../errors.js';
import type { StreamCall, UnaryCall } from '../grpc/server.js';
import type {
  AlarmRequest,
  AlarmResponse,
  DowngradeRequest,
  DowngradeResponse,
  EtcdServerApi,
  HashKVResponse,
  ResponseHeader,
  SnapshotSource,
  StatusResponse,
} from '../types.js';
import type { StreamHandlers, UnaryHandlers } from './handlers.js';
import { fillHeader, headerAt, withHeader } from './header.js';

/** Chunk size of the snapshot stream (etcd's). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

export interface SnapshotResponse {
  header?: ResponseHeader;
  remainingBytes: number;
  blob: Buffer;
}

/** gRPC's grpc-timeout header ("5000m", "4S", ...) in milliseconds; undefined when absent or bad. */
export function grpcTimeoutMs(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (m === null) return undefined;
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
  return Number(m[1]) * unitMs[m[2]!]!;
}

export function maintenanceHandlers(s: EtcdServerApi): UnaryHandlers {
  const h: UnaryHandlers = {
    async Status(_r: unknown, call: UnaryCall): Promise<StatusResponse> {
      const resp = await s.status(call.ctx);
      resp.header = fillHeader(resp.header, s);
      if (resp.version === '') resp.version = s.versions().server;
      if (resp.leader === 0n && !resp.errors.includes(ErrGRPCNoLeader.message)) {
        resp.errors.unshift(ErrGRPCNoLeader.message);
      }
      return resp;
    },
    async Alarm(r: AlarmRequest, call: UnaryCall): Promise<AlarmResponse> {
      return withHeader(await s.alarm(r, call.ctx), s);
    },
  };
  if (s.hashKV !== undefined) {
    const hashKV = s.hashKV.bind(s);
    h.HashKV = async (r: { revision: number }, call: UnaryCall): Promise<HashKVResponse> => {
      return withHeader(await hashKV(r.revision, call.ctx), s);
    };
  }
  if (s.hash !== undefined) {
    const hash = s.hash.bind(s);
    h.Hash = async (_r: unknown, call: UnaryCall) => {
      const resp = await hash(call.ctx);
      return { header: headerAt(s, resp.header?.revision ?? s.header().revision), hash: resp.hash };
    };
  }
  if (s.defragment !== undefined) {
    const defragment = s.defragment.bind(s);
    h.Defragment = async (_r: unknown, call: UnaryCall) => {
      await defragment(call.ctx);
      return { header: fillHeader(undefined, s) };
    };
  }
  if (s.moveLeader !== undefined) {
    const moveLeader = s.moveLeader.bind(s);
    h.MoveLeader = async (r: { targetID: bigint }, call: UnaryCall) => {
      await moveLeader(r.targetID, grpcTimeoutMs(call.headers['grpc-timeout']));
      return { header: fillHeader(undefined, s) };
    };
  }
  if (s.downgrade !== undefined) {
    const downgrade = s.downgrade.bind(s);
    h.Downgrade = async (r: DowngradeRequest, call: UnaryCall): Promise<DowngradeResponse> => {
      const resp = await downgrade(r, call.ctx);
      return { header: fillHeader(undefined, s), version: resp.version };
    };
  }
  return h;
}

export function maintenanceStreamHandlers(s: EtcdServerApi): StreamHandlers {
  if (s.snapshot === undefined) return {};
  const snapshot = s.snapshot.bind(s);
  return {
    Snapshot(call: StreamCall<unknown, SnapshotResponse>): void {
      let started = false;
      call.onMessage = () => {
        if (started) return;
        started = true;
        snapshot(call.ctx)
          .then((snap) => sendSnapshot(call, snap))
          .catch((err: unknown) => call.end(toGrpcError(err)));
      };
    },
  };
}

/** Streams the database copy: chunks with the bytes still to come, then the SHA-256 of them all. */
async function sendSnapshot(call: StreamCall<unknown, SnapshotResponse>, snap: SnapshotSource): Promise<void> {
  const stream = snap.stream;
  call.onCancel = () => stream.destroy();
  if (call.ended) {
    stream.destroy();
    return;
  }
  const sha = createHash('sha256');
  let remaining = snap.size;
  try {
    for await (const data of stream as AsyncIterable<Buffer>) {
      for (let off = 0; off < data.length; off += SNAPSHOT_CHUNK_BYTES) {
        const blob = data.subarray(off, Math.min(off + SNAPSHOT_CHUNK_BYTES, data.length));
        sha.update(blob);
        remaining -= blob.length;
        if (!call.write({ remainingBytes: Math.max(remaining, 0), blob })) return;
      }
      if (call.drained !== undefined) await call.drained();
      if (call.ended) return;
    }
  } finally {
    stream.destroy();
  }
  if (remaining !== 0) throw new Error(`snapshot: read ${snap.size - remaining} of ${snap.size} bytes`);
  call.write({ remainingBytes: 0, blob: sha.digest() });
  call.end();
}
