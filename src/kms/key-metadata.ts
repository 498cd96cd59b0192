import type { KeyRecord } from './key-record.ts';
import { keySpecs } from './key-specs.ts';
import { keyArn, type RegionContext } from './region-context.ts';
import { toEpochSeconds } from './operation.ts';

/** KeyMetadata exactly as DescribeKey and CreateKey answer it. */
export function keyMetadata(ctx: RegionContext, key: KeyRecord): Record<string, unknown> {
  const spec = keySpecs[key.keySpec];
  return {
    AWSAccountId: key.account,
    KeyId: key.keyId,
    Arn: keyArn(ctx, key.keyId),
    CreationDate: toEpochSeconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate !== undefined && key.state === 'PendingDeletion' ? { DeletionDate: toEpochSeconds(key.deletionDate) } : {}),
    Origin: key.origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(spec?.encryptionAlgorithms ? { EncryptionAlgorithms: [...spec.encryptionAlgorithms] } : {}),
    ...(spec?.signingAlgorithms ? { SigningAlgorithms: [...spec.signingAlgorithms] } : {}),
    ...(spec?.macAlgorithms ? { MacAlgorithms: [...spec.macAlgorithms] } : {}),
    ...(spec?.keyAgreementAlgorithms ? { KeyAgreementAlgorithms: [...spec.keyAgreementAlgorithms] } : {}),
    ...(key.origin === 'EXTERNAL' && key.materials.length > 0 ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {}),
    MultiRegion: key.multiRegion,
  };
}
