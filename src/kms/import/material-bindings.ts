import { KmsError } from '../../errors/index.ts';
import { allMaterials, isPrimaryKey, multiRegionConfig, type KeyRecord } from '../keys/index.ts';

/** The version a replica's primary bound imported material to, as it answered the replica. */
export interface ConfirmedMaterial {
  id: string;
  version: number;
}

/**
 * The KeyMaterialId of each material version, as far as this region knows: for a multi-Region
 * key the primary's bindings (a shared property, so replicas hold the primary's word), then the
 * material imported here. Related multi-Region keys must hold the same material per version.
 */
export function boundMaterialIds(key: KeyRecord): Map<number, string> {
  const bound = new Map<number, string>();
  for (const material of allMaterials(key)) if (material.imported) bound.set(material.version, material.imported.id);
  for (const [version, id] of Object.entries(key.boundMaterialIds ?? {})) bound.set(Number(version), id);
  return bound;
}

/** The version that material with this KeyMaterialId belongs to, if it is bound to the key. */
export function boundVersionOf(key: KeyRecord, id: string): number | undefined {
  return [...boundMaterialIds(key)].find(([, bound]) => bound === id)?.[0];
}

/**
 * Refuses material that differs from what the key's primary bound to `version`. A primary binds
 * it; a replica changes no shared property, so a version it knows nothing of must have been
 * `confirmed` by its primary before the transaction began (see ImportedMaterialBinder).
 */
export function bindImportedMaterial(key: KeyRecord, version: number, id: string, confirmed?: ConfirmedMaterial): void {
  if (!key.multiRegion) return;
  // The primary's answer is newer than any snapshot this replica holds.
  if (!isPrimaryKey(key) && confirmed?.version === version && confirmed.id === id) return;
  const bound = boundMaterialIds(key).get(version);
  if (bound !== undefined && bound !== id) {
    throw new KmsError(
      'IncorrectKeyMaterialException',
      `The key material differs from the key material of this multi-Region key (version ${version}); import the same key material into the primary key and each of its replica keys.`,
    );
  }
  if (isPrimaryKey(key)) {
    key.boundMaterialIds = { ...key.boundMaterialIds, [version]: id };
  } else if (bound === undefined) {
    throw new KmsError('ConflictException', 'The key changed while its primary region confirmed the key material; try again.');
  }
}

/**
 * The primary's answer to a replica importing material (as new material for `proposed`, or as
 * material already bound): the version the material is bound to, binding it only as the key's
 * first material. Other new material comes to the primary first, as AWS requires.
 */
export function bindForReplica(key: KeyRecord, id: string, proposed = 1): number {
  const known = boundVersionOf(key, id);
  if (known !== undefined) return known;
  const bound = boundMaterialIds(key);
  if (!bound.has(proposed) && (proposed !== 1 || bound.size > 0)) {
    throw new KmsError(
      'UnsupportedOperationException',
      `New key material for a multi-Region key is imported into its primary key first, in ${multiRegionConfig(key)!.primaryRegion}; then import the same key material into each replica key with ImportType EXISTING_KEY_MATERIAL.`,
    );
  }
  bindImportedMaterial(key, proposed, id);
  return proposed;
}

/** Imported material pending rotation that the primary deletes was never bound; its version may take other material. */
export function unbindPendingMaterial(key: KeyRecord, version: number): void {
  if (!key.boundMaterialIds || !isPrimaryKey(key)) return;
  const { [version]: _forgotten, ...rest } = key.boundMaterialIds;
  key.boundMaterialIds = rest;
}
