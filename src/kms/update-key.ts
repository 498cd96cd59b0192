import type { Transaction } from '../store/index.ts';
import { keyIndexPaths, keyPath, type KeyRecord } from './key-record.ts';
import type { OperationDeps } from './operation.ts';
import type { Caller } from './region-context.ts';

/**
 * Read-modify-write of one key under its row lock, so concurrent changes lose nothing.
 */
export function updateKey(
  { ctx, keys, authorize }: OperationDeps,
  identifier: string,
  caller: Caller,
  action: string,
  change: (key: KeyRecord) => void | Promise<void>,
): Promise<KeyRecord> {
  return ctx.store.transaction(async (tx) => {
    const keyId = await keys.resolveKeyId(identifier, { allowAlias: false }, tx);
    const raw = await tx.getForUpdate(keyPath(keyId));
    const key = raw ? (JSON.parse(raw) as KeyRecord) : await keys.load(keyId, tx);
    await authorize(caller, action, key);
    await changeKey(tx, key, change);
    return key;
  });
}

/**
 * Changes a key read for update and writes it back, keeping its index entries (deletion,
 * rotation, material expiry) in step in the same transaction.
 */
export async function changeKey(tx: Transaction, key: KeyRecord, change: (key: KeyRecord) => void | Promise<void>): Promise<void> {
  const before = keyIndexPaths(key);
  await change(key);
  const after = keyIndexPaths(key);
  for (const path of before) if (!after.includes(path)) tx.delete(path);
  for (const path of after) if (!before.includes(path)) tx.put(path, key.keyId);
  tx.put(keyPath(key.keyId), JSON.stringify(key));
}
