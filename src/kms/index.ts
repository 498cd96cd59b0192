export { KeyService, type KeyServiceOptions } from './key-service.ts';
export { keyArn, type Caller, type RegionContext } from './region-context.ts';
export type { Input, KeyHooks, Operation, OperationDeps, Operations, Output } from './operation.ts';
export { wrappedKeyRecords } from './wrapped-key-records.ts';
export {
  changeKey,
  countKeysByState,
  hasReplicas,
  invalidState,
  isPrimaryKey,
  isReplicaKey,
  keyMetadata,
  keyPairPoolStats,
  keyPath,
  multiRegionConfig,
  refuseOnReplica,
  requireState,
  sharedView,
  sharesMaterial,
  SHARED_PROPERTIES,
  type KeyPairPoolStats,
  type KeyRecord,
  type KeyState,
  type MaterialInfo,
  type MultiRegionConfig,
  type Tag,
} from './keys/index.ts';
export { addGrant, checkIdentityPolicy, checkPolicyDocument, defaultKeyPolicy, GRANTS_PER_KEY } from './access/index.ts';
export { checkTags } from './tags/index.ts';
export { bindForReplica } from './import/index.ts';
