import type { Reader } from '../../store/index.ts';
import type { KeyState } from '../kms-api.ts';
import { keyPath, type KeyRecord } from './key-record.ts';

const KEY_PREFIX = keyPath('');
const PAGE = 1000;

/** How many keys the region holds in each key state, read from the store a page at a time. */
export async function countKeysByState(store: Reader): Promise<Partial<Record<KeyState, number>>> {
  const counts: Partial<Record<KeyState, number>> = {};
  let after: string | undefined;
  for (;;) {
    const page = await store.list(KEY_PREFIX, { after, limit: PAGE });
    for (const { value } of page) {
      const { state } = JSON.parse(value) as Pick<KeyRecord, 'state'>;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    if (page.length < PAGE) return counts;
    after = page.at(-1)!.key;
  }
}
