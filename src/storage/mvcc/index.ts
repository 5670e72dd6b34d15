// MVCC's public surface. Typical wiring in the server:
//   const kv = new WatchableStore(backend, lessor);       // restores from the backend
//   lessor.setRangeDeleter(() => kv.write());             // revokes delete keys in one revision
//   txn.put(kv, lessor, req) / txn.range(kv, req) / txn.deleteRange(kv, req) / txn.txn(kv, lessor, req)
//   backend.setConsistentIndex(entry.index, entry.term)   // after each applied entry
//   const ws = kv.newWatchStream(); ws.watch(key, end, startRev, { filters, prevKv }); ws.onReady = ...

export * from './errors.js';
export { EMPTY, EventType, NO_LEASE, decodeKeyValue, encodeKeyValue, eventSize, keyValueSize, type Event, type KeyValue } from './kv.js';
export { KVStore, type LeaseAttacher, type StoreConfig } from './kvstore.js';
export { TxnRead, TxnWrite, type RangeOptions, type RangeResult, type TxnWriteLike } from './storeTxn.js';
export type { KeyValueHash } from './hash.js';
export * as txn from './txn.js';
export { WatchableStore, type WatchableStoreConfig } from './watchableStore.js';
export {
  AUTO_WATCH_ID,
  INVALID_WATCH_ID,
  WatchStream,
  filterNoDelete,
  filterNoPut,
  fragmentEvents,
  type FilterFunc,
  type WatchOptions,
  type WatchResponse,
} from './watcher.js';
