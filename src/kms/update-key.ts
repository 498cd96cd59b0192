import { deletionPath, keyPath, type KeyRecord } from './key-record.ts';
import type { OperationDeps } from './operation.ts';
import type { Caller } from './region-context.ts';

/**
 * Read-modify-write of one key under its row lock, so concurrent changes lose nothing.
 * Keeps the deletion index in step with the key's deletion date in the same transaction.
 */
export function updateKey(
  { ctx, keys, authorize }: OperationDeps,
  identifier: string,
  caller: Caller,
  action: string,
  change: (key: KeyRecord) => void,
): Promise<KeyRecord> {
  return ctx.store.transaction(async (tx) => {
    const keyId = await keys.resolveKeyId(identifier, { allowAlias: false }, tx);
    const raw = await tx.getForUpdate(keyPath(keyId));
    const key = raw ? (JSON.parse(raw) as KeyRecord) : await keys.load(keyId, tx);
    await authorize(caller, action, key);
    const before = key.deletionDate;
    change(key);
    if (key.deletionDate !== before) {
      if (before !== undefined) tx.delete(deletionPath(before, keyId));
      if (key.deletionDate !== undefined) tx.put(deletionPath(key.deletionDate, keyId), keyId);
    }
    tx.put(keyPath(keyId), JSON.stringify(key));
    return key;
  });
}
