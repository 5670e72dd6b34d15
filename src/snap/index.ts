// The snap package surface: the snapshotter, database snapshot transfer helpers and errors.

export { Snapshotter, readSnap, snapName, SNAP_SUFFIX } from './snapshotter.js';
export type { SnapLogger, SnapPosition } from './snapshotter.js';
export { checkTrailingHash, dbFileName, dbTransferChunks, dbTransferStream, HASH_SIZE } from './db.js';
export { SnapError, isSnapError } from './errors.js';
export type { SnapErrorCode } from './errors.js';
