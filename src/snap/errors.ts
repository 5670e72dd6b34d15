// The errors the snapshotter reports (etcd's snap package sentinels, same texts), with a `code`
// to compare on.

export type SnapErrorCode =
  | 'ErrNoSnapshot'
  | 'ErrEmptySnapshot'
  | 'ErrCRCMismatch'
  | 'ErrNoDBSnapshot'
  | 'ErrSnapshotHashMismatch';

const TEXT: Record<SnapErrorCode, string> = {
  ErrNoSnapshot: 'snap: no available snapshot',
  ErrEmptySnapshot: 'snap: empty snapshot',
  ErrCRCMismatch: 'snap: crc mismatch',
  ErrNoDBSnapshot: "snap: snapshot file doesn't exist",
  ErrSnapshotHashMismatch: 'snap: database snapshot sha256 mismatch',
};

export class SnapError extends Error {
  constructor(
    readonly code: SnapErrorCode,
    detail?: string,
  ) {
    super(detail ? `${TEXT[code]}: ${detail}` : TEXT[code]);
    this.name = 'SnapError';
  }
}

export function isSnapError(e: unknown, code: SnapErrorCode): e is SnapError {
  return e instanceof SnapError && e.code === code;
}
