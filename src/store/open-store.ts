import { PostgresStore } from './postgres-store.ts';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import type { Store } from './store.ts';

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Opens the configured store; on PostgreSQL the database itself picks the node running background work, so `options` are SQLite's. */
export async function openStore(config: StoreConfig, options: SqliteStoreOptions = {}): Promise<Store> {
  return config.kind === 'postgres' ? PostgresStore.open(config.url) : new SqliteStore(config.path, options);
}
