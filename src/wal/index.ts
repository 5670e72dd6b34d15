// The WAL package surface: the log itself, its snapshot markers, read-only checks and errors.

export { WAL, SEGMENT_SIZE_BYTES } from './wal.js';
export type { WalOptions, WalLogger, ReadAllResult, WalStats } from './wal.js';
export type { WalSnapshot } from './walpb.js';
export { validSnapshotEntries, verify } from './verify.js';
export { WalError, WalCorruptionError, isWalError } from './errors.js';
export type { WalErrorCode } from './errors.js';
export { walName, parseWalName } from './names.js';
