import { PostgresStore } from './postgres-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export async function openStore(config: StoreConfig): Promise<Store> {
  return config.kind === 'postgres' ? PostgresStore.open(config.url) : new SqliteStore(config.path);
}
