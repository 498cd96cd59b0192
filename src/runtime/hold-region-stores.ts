import type { RegionConfig } from '../config/index.ts';
import { SqliteStore } from '../store/index.ts';
import { storeFailure } from './startup-error.ts';

/**
 * Keeps other deployments off the regions' SQLite stores for as long as this process lives: the
 * primary of several worker processes calls it before it forks them (one process alone locks
 * its store file itself). Throws the one-line startup error when another process holds a store.
 */
export function holdRegionStores(configs: readonly Readonly<RegionConfig>[]): void {
  for (const { region, store } of configs) {
    if (store.kind !== 'sqlite') continue;
    try {
      SqliteStore.holdForHost(store.path);
    } catch (error) {
      throw storeFailure(region, store, error);
    }
  }
}
