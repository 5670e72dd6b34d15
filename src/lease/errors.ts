// The errors the lessor reports, as singletons compared by identity, with etcd's texts
// (server/lease/lessor.go) so the API layer can map them to etcd's gRPC errors in one place.

export class LeaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseError';
  }
}

export const ErrNotPrimary = new LeaseError('not a primary lessor');
export const ErrLeaseNotFound = new LeaseError('lease not found');
export const ErrLeaseExists = new LeaseError('lease already exists');
export const ErrLeaseTTLTooLarge = new LeaseError('too large lease TTL');
