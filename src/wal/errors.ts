// The errors the WAL reports. One class with a `code` to compare on (the sentinel errors of etcd's
// wal package); messages follow etcd's wording and, for corruption, name the file and offset.

export type WalErrorCode =
  | 'ErrExist'
  | 'ErrFileNotFound'
  | 'ErrMetadataConflict'
  | 'ErrCRCMismatch'
  | 'ErrCorrupt'
  | 'ErrSnapshotMismatch'
  | 'ErrSnapshotNotFound'
  | 'ErrSliceOutOfRange'
  | 'ErrDecoderNotFound'
  | 'ErrBadSequence'
  | 'ErrClosed';

export class WalError extends Error {
  constructor(
    readonly code: WalErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WalError';
  }
}

export function isWalError(e: unknown, code: WalErrorCode): e is WalError {
  return e instanceof WalError && e.code === code;
}

/** Corruption found while reading: always names the segment file and the record's offset. */
export class WalCorruptionError extends WalError {
  constructor(
    code: 'ErrCRCMismatch' | 'ErrCorrupt',
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(
      code,
      `wal: corrupt record in file '${file}' at offset ${offset}: ${detail}; the WAL cannot be ` +
        `repaired automatically (only a torn last record is)`,
    );
    this.name = 'WalCorruptionError';
  }
}
