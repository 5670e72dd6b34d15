// Bucket names of the backend: one LMDB named database per etcd bucket (server/storage/schema).
// The names are part of the on-disk format and of HashKV (the "key" bucket name is hashed).

export const Bucket = {
  Key: 'key',
  Meta: 'meta',
  Lease: 'lease',
  Auth: 'auth',
  AuthUsers: 'authUsers',
  AuthRoles: 'authRoles',
  Members: 'members',
  MembersRemoved: 'members_removed',
  Alarm: 'alarm',
  Cluster: 'cluster',
} as const;

export type BucketName = (typeof Bucket)[keyof typeof Bucket];

export const ALL_BUCKETS: readonly BucketName[] = Object.values(Bucket);

// Keys of the meta bucket (etcd's schema/meta.go and schema/version.go).
export const MetaKey = {
  ConsistentIndex: Buffer.from('consistent_index'),
  Term: Buffer.from('term'),
  ScheduledCompactRev: Buffer.from('scheduledCompactRev'),
  FinishedCompactRev: Buffer.from('finishedCompactRev'),
  ConfState: Buffer.from('confState'),
  StorageVersion: Buffer.from('storageVersion'),
} as const;
