import type { Transaction } from '../../store/index.ts';
import type { KeyHooks, OperationDeps } from '../operation.ts';
import type { Caller } from '../region-context.ts';
import { keyIndexPaths } from './key-index-paths.ts';
import { keyPath, type KeyRecord } from './key-record.ts';

/**
 * Read-modify-write of one key under its row lock, so concurrent changes lose nothing.
 */
export function updateKey(
  { ctx, keys, authorize, hooks }: OperationDeps,
  identifier: string,
  caller: Caller,
  action: string,
  change: (key: KeyRecord) => void | Promise<void>,
): Promise<KeyRecord> {
  const changed = ctx.store.transaction(async (tx) => {
    const keyId = await keys.resolveKeyId(identifier, { allowAlias: false }, tx);
    const key = (await keys.getForUpdate(tx, keyId)) ?? (await keys.load(keyId, tx));
    await authorize(caller, action, key);
    await changeKey(tx, key, change, hooks);
    return key;
  });
  return hooks ? changed.then((key) => (hooks.committed(), key)) : changed;
}

/**
 * Changes a key read for update and writes it back, keeping its index entries (deletion,
 * rotation, material expiry) in step in the same transaction.
 */
export async function changeKey(tx: Transaction, key: KeyRecord, change: (key: KeyRecord) => void | Promise<void>, hooks?: KeyHooks): Promise<void> {
  const before = keyIndexPaths(key);
  const original = hooks && structuredClone(key);
  await change(key);
  if (hooks && original) await hooks.keyChanged(tx, original, key);
  const after = keyIndexPaths(key);
  for (const path of before) if (!after.includes(path)) tx.delete(path);
  for (const path of after) if (!before.includes(path)) tx.put(path, key.keyId);
  tx.put(keyPath(key.keyId), JSON.stringify(key));
}
