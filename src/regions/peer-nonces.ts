import { purgeTimeIndex, StoreConflictError, timeIndexPath, type Store } from '../store/index.ts';

const INDEX = 'peer-nonce';

/**
 * The nonces of the peer requests a region accepted, kept in its store, by request timestamp,
 * for as long as such a request could still be accepted: every node of the region then
 * refuses a replay, also after a restart.
 */
export class PeerNonces {
  constructor(private readonly store: Store) {}

  /** False when the request with this sender, nonce and timestamp was accepted before. */
  async claim(from: string, nonce: string, timestamp: number): Promise<boolean> {
    try {
      await this.store.transaction(async (tx) => tx.create(timeIndexPath(INDEX, timestamp, `${from}/${nonce}`), ''));
      return true;
    } catch (error) {
      if (error instanceof StoreConflictError) return false;
      throw error;
    }
  }

  /** Forgets the nonces of requests timestamped before `before`; answers how many. */
  forget(before: number): Promise<number> {
    return purgeTimeIndex(this.store, INDEX, before);
  }
}
