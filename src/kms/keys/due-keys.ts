import { timeIndexTime } from '../../store/index.ts';
import type { KeyEventKind } from '../key-events.ts';
import type { OperationDeps } from '../operation.ts';
import { keyIndexPaths } from './key-index-paths.ts';
import type { KeyRecord } from './key-record.ts';
import { changeKey } from './update-key.ts';

const DUE_BATCH = 500;

/**
 * Background work over one of the keys' time-ordered indexes (`rotation/`, `expiry/`): changes
 * each key whose entry is due, one transaction per key, reading only the due entries. An entry
 * the key no longer has is dropped.
 */
export async function changeDueKeys(deps: OperationDeps, prefix: string, kind: KeyEventKind, change: (key: KeyRecord) => void | Promise<void>): Promise<void> {
  const { ctx, keys, events } = deps;
  let failure: { error: unknown } | undefined;
  for (const entry of await ctx.store.list(prefix, { limit: DUE_BATCH })) {
    if (timeIndexTime(entry.key) > ctx.now()) break;
    try {
      await events.transaction(async (tx, publish) => {
        const key = await keys.getForUpdate(tx, entry.value);
        if (!key) {
          tx.delete(entry.key);
          return;
        }
        await changeKey(tx, key, change, { publish, kind });
        if (!keyIndexPaths(key).includes(entry.key)) tx.delete(entry.key);
      });
    } catch (error) {
      // One key that cannot change now (e.g. a multi-Region key being updated) must not hold up the others.
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
