import { isDeepStrictEqual } from 'node:util';
import type { Transaction } from '../../store/index.ts';
import { eventKindOf, keyEventKind, type KeyChangingAction, type KeyEventKind, type PublishKeyEvent } from '../key-events.ts';
import type { OperationDeps } from '../operation.ts';
import type { Caller } from '../region-context.ts';
import { keyIndexPaths } from './key-index-paths.ts';
import { keyPath, type KeyRecord } from './key-record.ts';

/**
 * Read-modify-write of one key under its row lock, so concurrent changes lose nothing.
 */
export function updateKey(
  { keys, authorize, events }: OperationDeps,
  identifier: string,
  caller: Caller,
  action: KeyChangingAction,
  change: (key: KeyRecord) => void | Promise<void>,
): Promise<KeyRecord> {
  return events.transaction(async (tx, publish) => {
    const keyId = await keys.resolveKeyId(identifier, { allowAlias: false }, tx);
    const key = (await keys.getForUpdate(tx, keyId)) ?? (await keys.load(keyId, tx));
    await authorize(caller, action, key);
    await changeKey(tx, key, change, { publish, kind: eventKindOf(action) });
    return key;
  });
}

/**
 * Changes a key read for update and writes it back, keeping its index entries (deletion,
 * rotation, material expiry) in step in the same transaction. A real change is published as an
 * event of `kind`, or of the kind that what changed tells.
 */
export async function changeKey(
  tx: Transaction,
  key: KeyRecord,
  change: (key: KeyRecord) => void | Promise<void>,
  event: { publish: PublishKeyEvent; kind?: KeyEventKind },
): Promise<void> {
  const before = keyIndexPaths(key);
  const original = structuredClone(key);
  await change(key);
  if (!isDeepStrictEqual(original, key))
    await event.publish({ kind: event.kind ?? keyEventKind(original, key), keyId: key.keyId, before: original, after: key });
  const after = keyIndexPaths(key);
  for (const path of before) if (!after.includes(path)) tx.delete(path);
  for (const path of after) if (!before.includes(path)) tx.put(path, key.keyId);
  tx.put(keyPath(key.keyId), JSON.stringify(key));
}
