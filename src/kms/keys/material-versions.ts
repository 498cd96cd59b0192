import { createHash, createHmac } from 'node:crypto';
import { toEpochSeconds } from '../operation.ts';
import type { KeyRecord, MaterialInfo } from './key-record.ts';
import { isSymmetric } from './key-specs.ts';

export type KeyMaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION';

/** Every material version of a key, present or deleted, oldest first. */
export function allMaterials(key: KeyRecord): MaterialInfo[] {
  return [...key.materials, ...(key.deletedMaterials ?? [])].sort((a, b) => a.version - b.version);
}

export const nextMaterialVersion = (key: KeyRecord): number => Math.max(0, ...allMaterials(key).map((m) => m.version)) + 1;

/**
 * Versions up to the current one are bound to the key for good; a later version is imported
 * material waiting for RotateKeyOnDemand, which never encrypted anything.
 */
export function materialState(key: KeyRecord, material: MaterialInfo): KeyMaterialState {
  if (material.version === key.currentMaterial) return 'CURRENT';
  return material.version > key.currentMaterial ? 'PENDING_ROTATION' : 'NON_CURRENT';
}

/** AWS's KeyMaterialId: 64 hex digits. Generated material is named by key ID and version. */
export function materialId(keyId: string, material: MaterialInfo): string {
  return material.imported?.id ?? createHash('sha256').update(`concord key material id|${keyId}|${material.version}`).digest('hex');
}

/** The KeyMaterialId of one of a key's versions, named `member` in an answer; symmetric keys only, as in AWS. */
export function keyMaterialIdMember(member: string, key: KeyRecord, version: number): Record<string, string> {
  const material = allMaterials(key).find((m) => m.version === version);
  return material && isSymmetric(key.keySpec) ? { [member]: materialId(key.keyId, material) } : {};
}

/**
 * Imported material is named by a MAC under the material itself, so the same material always
 * gets the same ID for the same key, and the ID reveals nothing about the material.
 */
export const importedMaterialId = (keyId: string, material: Buffer): string =>
  createHmac('sha256', material).update(`concord imported key material id|${keyId}`).digest('hex');

/** The KeyMetadata members that describe a key's current material. */
export function currentMaterialMetadata(key: KeyRecord): Record<string, unknown> {
  const current = allMaterials(key).find((m) => m.version === key.currentMaterial);
  if (!current) return {};
  const imported = current.imported;
  return {
    ...(isSymmetric(key.keySpec) ? { CurrentKeyMaterialId: materialId(key.keyId, current) } : {}),
    ...(imported ? { ExpirationModel: imported.expirationModel } : {}),
    ...(imported?.validTo !== undefined ? { ValidTo: toEpochSeconds(imported.validTo) } : {}),
  };
}
