// The lease package: the lessor and what the server, MVCC and the API layer use of it.

export { BatchQueue } from './batchQueue.js';
export { ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge, ErrNotPrimary, LeaseError } from './errors.js';
export { FOREVER, Lease, NO_LEASE } from './lease.js';
export { decodeLease, encodeLease, leaseIdFromKey, leaseIdKey, type LeaseRecord } from './leasepb.js';
export {
  Lessor,
  MAX_LEASE_TTL,
  minLeaseTtl,
  type Checkpointer,
  type LeaseBackend,
  type LeaseCheckpoint,
  type LeaseTimeToLive,
  type LessorConfig,
  type RangeDeleter,
  type TxnDelete,
} from './lessor.js';
