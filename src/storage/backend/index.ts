// The storage backend's public surface: the LMDB-backed Backend, its buckets and meta keys.

export { Backend, type BackendOptions, type BackendSnapshot, type BatchTx, type ConsistentIndex, type RangeResult, type ReadTx } from './backend.js';
export { ALL_BUCKETS, Bucket, MetaKey, type BucketName } from './buckets.js';
