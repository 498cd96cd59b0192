import type { KeyMetadata } from '../kms-api.ts';
import { toEpochSeconds } from '../operation.ts';
import { keyArn, type RegionContext } from '../region-context.ts';
import type { KeyRecord } from './key-record.ts';
import { keyAlgorithms } from './key-specs.ts';
import { currentMaterialMetadata } from './material-versions.ts';
import { multiRegionMetadata } from './multi-region.ts';

/** KeyMetadata exactly as DescribeKey and CreateKey answer it. */
export function keyMetadata(ctx: RegionContext, key: KeyRecord): KeyMetadata {
  return {
    AWSAccountId: key.account,
    KeyId: key.keyId,
    Arn: keyArn(ctx, key.keyId),
    CreationDate: toEpochSeconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.multiRegionConfig?.updatingWith ? 'Updating' : key.state,
    ...(key.deletionDate !== undefined && key.state === 'PendingDeletion' ? { DeletionDate: toEpochSeconds(key.deletionDate) } : {}),
    ...(key.state === 'PendingReplicaDeletion' ? { PendingDeletionWindowInDays: key.pendingWindowDays } : {}),
    Origin: key.origin,
    ...(key.customKeyStore ? { CustomKeyStoreId: key.customKeyStore.id, CloudHsmClusterId: key.customKeyStore.clusterId } : {}),
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...keyAlgorithms(key.keySpec, key.keyUsage),
    ...currentMaterialMetadata(key),
    ...multiRegionMetadata(key),
  };
}
