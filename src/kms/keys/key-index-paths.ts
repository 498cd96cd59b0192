import { timeIndexPath } from '../../store/index.ts';
import { nextRotationDate, type KeyRecord } from './key-record.ts';
import { isReplicaKey } from './multi-region.ts';

/**
 * The index entries a key has in the store, each holding its key ID. Rotation is indexed only
 * while the key is Enabled: a key that is disabled or pending deletion does not rotate, and
 * enabling it again re-adds the entry, so overdue rotation happens at once.
 */
export function keyIndexPaths(key: KeyRecord): string[] {
  const paths = new Set<string>();
  if (key.deletionDate !== undefined) paths.add(timeIndexPath('deletion', key.deletionDate, key.keyId));
  if (key.autoRotation && key.state === 'Enabled' && !isReplicaKey(key)) paths.add(timeIndexPath('rotation', nextRotationDate(key.autoRotation), key.keyId));
  for (const material of key.materials) {
    const validTo = material.imported?.validTo;
    if (validTo !== undefined) paths.add(timeIndexPath('expiry', validTo, key.keyId));
  }
  return [...paths];
}
