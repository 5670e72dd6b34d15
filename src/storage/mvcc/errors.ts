// The errors MVCC reports, singletons compared by identity, with etcd's texts (mvcc/kvstore.go,
// mvcc/watcher.go, etcdserver/errors) so the API layer maps them to gRPC errors in one place.

export class MvccError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MvccError';
  }
}

export const ErrCompacted = new MvccError('mvcc: required revision has been compacted');
export const ErrFutureRev = new MvccError('mvcc: required revision is a future revision');
export const ErrWatcherNotExist = new MvccError('mvcc: watcher does not exist');
export const ErrEmptyWatcherRange = new MvccError('mvcc: watcher range is empty');
export const ErrWatcherDuplicateID = new MvccError('mvcc: duplicate watch ID provided on the WatchStream');
/** Put with ignore_value / ignore_lease on a missing key (etcdserver's ErrKeyNotFound). */
export const ErrKeyNotFound = new MvccError('etcdserver: key not found');
