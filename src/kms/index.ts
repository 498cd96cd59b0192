export { KeyService, type KeyServiceOptions } from './key-service.ts';
export type { Caller, RegionContext } from './region-context.ts';
export type { Operation, Input, Output } from './operation.ts';
export type { KeyHooks, OperationDeps, Operations } from './operation.ts';
export type { KeyRecord, KeyState, MaterialInfo, MultiRegionConfig, Tag } from './key-record.ts';
export { keyPath, purgeTimeIndex, timeIndexPath } from './key-record.ts';
export { wrappedKeyRecords } from './wrapped-key-records.ts';
export { keyMetadata } from './key-metadata.ts';
export { keyArn } from './region-context.ts';
export { invalidState, requireState } from './key-state-errors.ts';
export { checkIdentityPolicy, checkPolicyDocument, checkTrustPolicy } from './policy-document.ts';
export { checkTags } from './tags.ts';
export { defaultKeyPolicy } from './default-policy.ts';
export { changeKey } from './update-key.ts';
export { bindForReplica } from './material-bindings.ts';
export {
  hasReplicas,
  isPrimaryKey,
  isReplicaKey,
  multiRegionConfig,
  refuseOnReplica,
  sharedView,
  sharesMaterial,
  SHARED_PROPERTIES,
} from './multi-region.ts';
export { addGrant, GRANTS_PER_KEY } from './grant-store.ts';
