import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export type StoreConfig = { kind: 'sqlite'; path: string };

export async function openStore(config: StoreConfig): Promise<Store> {
  return new SqliteStore(config.path);
}
