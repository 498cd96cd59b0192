import type { Store } from './store.ts';

/**
 * A time-ordered index entry `<index>/<time, zero-padded ms>/<id>`: a prefix scan lists the
 * entries by time, so background jobs read only what is due. Indexes: `deletion/` (the
 * sweeper), `rotation/` (automatic rotation), `expiry/` (imported material), `import/`,
 * `peer-nonce/`.
 */
export const timeIndexPath = (index: string, at: number, id: string): string => `${index}/${String(at).padStart(15, '0')}/${id}`;

/** The time of a time-index entry. */
export const timeIndexTime = (path: string): number => Number(path.split('/')[1]);

const PURGE_PAGE = 500;

/** Deletes the entries of a time index timed before `before`, a page at a time; answers how many. */
export async function purgeTimeIndex(store: Store, index: string, before: number): Promise<number> {
  let purged = 0;
  for (;;) {
    const page = await store.list(`${index}/`, { limit: PURGE_PAGE });
    const due = page.filter((entry) => timeIndexTime(entry.key) < before);
    if (due.length > 0) {
      await store.transaction((tx) => {
        for (const entry of due) tx.delete(entry.key);
      });
    }
    purged += due.length;
    if (due.length < PURGE_PAGE) return purged;
  }
}
