export { KeyService, type KeyServiceOptions } from './key-service.ts';
export { KMS_USER, type CloudHsmClusters, type KeyStoreCluster, type KmsUserLogin } from './custom-key-stores/index.ts';
export { keyArn, type Caller, type RegionContext } from './region-context.ts';
export type { ImportedMaterialBinder, MultiRegionOperationName, Operation, OperationDeps, OperationName, Operations } from './operation.ts';
export type * from './kms-api.ts';
export { KeyEvents, type KeyEvent, type KeyEventKind, type KeySubscriber, type PublishKeyEvent } from './key-events.ts';
export { wrappedKeyRecords } from './wrapped-key-records.ts';
export {
  changeKey,
  countKeysByState,
  hasReplicas,
  invalidState,
  isPrimaryKey,
  isReplicaKey,
  generateKeyPairDer,
  keyMetadata,
  KEY_PAIR_POOL_SIZE,
  keyPairPoolStats,
  keyPath,
  POOLED_KEY_SPECS,
  prefillKeyPairs,
  multiRegionConfig,
  refuseOnReplica,
  requireState,
  sharedView,
  sharesMaterial,
  SHARED_PROPERTIES,
  type KeyPairPoolStats,
  type KeyRecord,
  type MaterialInfo,
  type MultiRegionConfig,
} from './keys/index.ts';
export { addGrant, checkIdentityPolicy, checkPolicyDocument, checkTrustPolicy, defaultKeyPolicy, GRANTS_PER_KEY } from './access/index.ts';
export { checkTags } from './tags/index.ts';
export { bindForReplica } from './import/index.ts';
