export type { Entry, ListOptions, Reader, Store, Transaction } from './store.ts';
export { StoreConflictError, StoreUnavailableError } from './store.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { PostgresStore } from './postgres-store.ts';
export { purgeTimeIndex, timeIndexPath, timeIndexTime } from './time-index.ts';
export { openStore, type StoreConfig } from './open-store.ts';
