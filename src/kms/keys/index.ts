export type { AliasRecord, ImportedMaterial, KeyRecord, MaterialInfo, MultiRegionConfig } from './key-record.ts';
export { aliasPath, keyPath, nextRotationDate } from './key-record.ts';
export { KeyRepository, materialAad } from './key-repository.ts';
export { keyMetadata } from './key-metadata.ts';
export { algorithmsOf, isSymmetric, keyAlgorithms, keySpecs } from './key-specs.ts';
export { invalidState, requireEnabled, requireNotPendingDeletion, requireState } from './key-state-errors.ts';
export {
  generateKeyMaterial,
  generateKeyPairDer,
  KEY_PAIR_POOL_SIZE,
  keyPairPoolStats,
  POOLED_KEY_SPECS,
  prefillKeyPairs,
  readyKeyPairDer,
} from './key-material.ts';
export type { KeyPairDer, KeyPairPoolStats } from './key-pair-pool.ts';
export { allMaterials, importedMaterialId, keyMaterialIdMember, materialId, materialState, nextMaterialVersion } from './material-versions.ts';
export { hasReplicas, isPrimaryKey, isReplicaKey, multiRegionConfig, refuseOnReplica, sharedView, sharesMaterial, SHARED_PROPERTIES } from './multi-region.ts';
export { changeKey, updateKey } from './update-key.ts';
export { changeDueKeys } from './due-keys.ts';
export { countKeysByState } from './count-keys-by-state.ts';
