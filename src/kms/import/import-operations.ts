import { KmsError } from '../../errors/index.ts';
import {
  allMaterials,
  changeDueKeys,
  importedMaterialId,
  isReplicaKey,
  isSymmetric,
  materialId,
  materialState,
  nextMaterialVersion,
  requireNotPendingDeletion,
  requireState,
  updateKey,
  type ImportedMaterial,
  type KeyRecord,
} from '../keys/index.ts';
import { toEpochSeconds, type OperationDeps, type Operations } from '../operation.ts';
import { keyArn, type Caller, type RegionContext } from '../region-context.ts';
import { issueImportParameters, openImportToken, purgeExpiredImportParameters } from './import-parameters.ts';
import { isWrappingAlgorithm, isWrappingKeySpec, unwrapImportedMaterial } from './import-wrapping.ts';
import { importedMaterialFor } from './imported-material.ts';
import { bindImportedMaterial, boundMaterialIds, boundVersionOf, unbindPendingMaterial, type ConfirmedMaterial } from './material-bindings.ts';
import type { DeleteImportedKeyMaterialResponse, GetParametersForImportResponse, ImportKeyMaterialRequest, ImportKeyMaterialResponse } from '../kms-api.ts';

const MAX_VALID_TO_MS = 365 * 24 * 60 * 60 * 1000;

export function importOperations(deps: OperationDeps): Operations<'GetParametersForImport' | 'ImportKeyMaterial' | 'DeleteImportedKeyMaterial'> {
  const { ctx, keys, authorize, importedMaterialBinder } = deps;

  /**
   * A replica binds no material itself. Material that no snapshot has told it about yet is
   * confirmed by its primary before the import's transaction: the primary answers the version it
   * bound the material to, or refuses it. What the replica knows already it decides itself.
   */
  const confirmWithPrimary = async (input: ImportKeyMaterialRequest, caller: Caller): Promise<ConfirmedMaterial | undefined> => {
    const key = await keys.find(input.KeyId, { allowAlias: false });
    if (!isReplicaKey(key) || !importedMaterialBinder) return undefined;
    await authorize(caller, 'ImportKeyMaterial', key);
    const { id, importType } = await readImport(ctx, key, input);
    if (boundVersionOf(key, id) !== undefined) return undefined;
    const proposed = importType === 'NEW_KEY_MATERIAL' ? newMaterialVersion(ctx, key, input, id) : undefined;
    if (proposed !== undefined && boundMaterialIds(key).has(proposed)) return undefined;
    return { id, version: await importedMaterialBinder(key, id, proposed) };
  };

  return {
    async GetParametersForImport(input, caller): Promise<GetParametersForImportResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'GetParametersForImport', key);
      requireImportable(ctx, key);
      requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
      if (!isWrappingAlgorithm(input.WrappingAlgorithm)) {
        throw new KmsError(
          'ValidationException',
          `WrappingAlgorithm ${input.WrappingAlgorithm} is not supported; use RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.`,
        );
      }
      if (!isWrappingKeySpec(input.WrappingKeySpec)) {
        throw new KmsError('ValidationException', `WrappingKeySpec ${input.WrappingKeySpec} is not supported; use RSA_2048, RSA_3072 or RSA_4096.`);
      }
      const issued = await issueImportParameters(ctx, key.keyId, caller.arn, input.WrappingAlgorithm, input.WrappingKeySpec);
      return {
        KeyId: keyArn(ctx, key.keyId),
        ImportToken: issued.importToken,
        PublicKey: issued.publicKey,
        ParametersValidTo: toEpochSeconds(issued.validTo),
      };
    },

    async ImportKeyMaterial(input, caller): Promise<ImportKeyMaterialResponse> {
      const confirmed = await confirmWithPrimary(input, caller);
      let importedId = '';
      const key = await updateKey(deps, input.KeyId, caller, 'ImportKeyMaterial', async (key) => {
        const { terms, material, id, importType } = await readImport(ctx, key, input);
        // The version a replica's primary answered is the primary's word, whatever the replica's own versions say.
        const version = confirmed?.id === id ? confirmed.version : importVersion(ctx, key, input, id, importType);
        bindImportedMaterial(key, version, id, confirmed);
        importedId = id;
        const previous = allMaterials(key).find((m) => m.version === version);
        const imported: ImportedMaterial = {
          id,
          ...terms,
          ...(input.KeyMaterialDescription !== undefined || previous?.imported?.description !== undefined
            ? { description: input.KeyMaterialDescription ?? previous?.imported?.description }
            : {}),
        };
        const record = { ...previous, ...(await keys.wrapMaterial(key.keyId, version, material)), imported };
        if (previous) record.createdAt = previous.createdAt;
        key.materials = [...key.materials.filter((m) => m.version !== version), record].sort((a, b) => a.version - b.version);
        key.deletedMaterials = (key.deletedMaterials ?? []).filter((m) => m.version !== version);
        if (key.currentMaterial === 0) key.currentMaterial = version;
        if (key.state === 'PendingImport' && allBoundMaterialPresent(key)) key.state = 'Enabled';
      });
      return { KeyId: keyArn(ctx, key.keyId), KeyMaterialId: importedId };
    },

    async DeleteImportedKeyMaterial(input, caller): Promise<DeleteImportedKeyMaterialResponse> {
      let deletedId = '';
      const key = await updateKey(deps, input.KeyId, caller, 'DeleteImportedKeyMaterial', (key) => {
        const arn = keyArn(ctx, key.keyId);
        if (key.origin !== 'EXTERNAL') throw new KmsError('UnsupportedOperationException', `${arn} does not have imported key material.`);
        requireState(arn, key.state, ['Enabled', 'Disabled', 'PendingImport', 'PendingDeletion']);
        const target = allMaterials(key).find((m) =>
          input.KeyMaterialId === undefined ? m.version === key.currentMaterial : materialId(key.keyId, m) === input.KeyMaterialId,
        );
        if (!target) {
          if (input.KeyMaterialId !== undefined) throw new KmsError('NotFoundException', `Key material ${input.KeyMaterialId} is not associated with ${arn}.`);
          throw new KmsError('KMSInvalidStateException', `${arn} has no imported key material.`);
        }
        deletedId = materialId(key.keyId, target);
        removeMaterial(key, target.version);
      });
      return { KeyId: keyArn(ctx, key.keyId), KeyMaterialId: deletedId };
    },
  };
}

function requireImportable(ctx: RegionContext, key: KeyRecord): void {
  if (key.origin !== 'EXTERNAL') {
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx, key.keyId)} origin is ${key.origin}, which does not support imported key material.`);
  }
}

/** Every check of an import that needs no version, and what it would import: the material, its KeyMaterialId, how. */
async function readImport(ctx: RegionContext, key: KeyRecord, input: ImportKeyMaterialRequest) {
  requireImportable(ctx, key);
  requireState(keyArn(ctx, key.keyId), key.state, ['Enabled', 'PendingImport']);
  if (!isSymmetric(key.keySpec)) requireSingleMaterialImport(input);
  const terms = expirationTerms(input, ctx.now());
  const { wrappingAlgorithm, privateKey } = await openImportToken(ctx, key.keyId, input.ImportToken);
  const unwrapped = unwrapImportedMaterial(privateKey, wrappingAlgorithm, input.EncryptedKeyMaterial);
  if (!unwrapped) {
    throw new KmsError(
      'InvalidCiphertextException',
      'The encrypted key material could not be decrypted with the wrapping key and algorithm of this import token.',
    );
  }
  const material = importedMaterialFor(key.keySpec, unwrapped);
  if (!material) throw new KmsError('IncorrectKeyMaterialException', `The key material is not valid for key spec ${key.keySpec}.`);
  const id = importedMaterialId(key.keyId, material);
  const importType: string = input.ImportType ?? (boundMaterialIds(key).size === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
  if (importType === 'EXISTING_KEY_MATERIAL' && input.KeyMaterialId !== undefined && input.KeyMaterialId !== id) {
    throw new KmsError('IncorrectKeyMaterialException', `The key material does not match KeyMaterialId ${input.KeyMaterialId}.`);
  }
  return { terms, material, id, importType };
}

/** Asymmetric and HMAC keys hold one material for good, so AWS refuses the members that choose among several. */
function requireSingleMaterialImport(input: ImportKeyMaterialRequest): void {
  for (const member of ['ImportType', 'KeyMaterialId', 'KeyMaterialDescription'] as const) {
    if (input[member] !== undefined) throw new KmsError('ValidationException', `${member} can be used only with symmetric encryption keys.`);
  }
}

/** AWS's rules: ValidTo is required when the material expires, refused when it does not, and at most 365 days ahead. */
function expirationTerms(input: ImportKeyMaterialRequest, now: number): Pick<ImportedMaterial, 'expirationModel' | 'validTo'> {
  const expirationModel: ImportedMaterial['expirationModel'] = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
  if (expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (input.ValidTo !== undefined) throw new KmsError('ValidationException', 'ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.');
    return { expirationModel };
  }
  if (input.ValidTo === undefined) throw new KmsError('ValidationException', 'ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
  const validTo = Math.round(input.ValidTo * 1000);
  if (validTo <= now) throw new KmsError('ValidationException', 'ValidTo must be in the future.');
  if (validTo > now + MAX_VALID_TO_MS) throw new KmsError('ValidationException', 'ValidTo must be at most 365 days from now.');
  return { expirationModel, validTo };
}

/** NEW_KEY_MATERIAL: the key's first material, or material waiting for RotateKeyOnDemand. */
function newMaterialVersion(ctx: RegionContext, key: KeyRecord, input: ImportKeyMaterialRequest, id: string): number {
  if (input.KeyMaterialId !== undefined) throw new KmsError('ValidationException', 'KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.');
  if (boundVersionOf(key, id) !== undefined) {
    throw new KmsError(
      'IncorrectKeyMaterialException',
      'This key material is already associated with the KMS key; import it with ImportType EXISTING_KEY_MATERIAL.',
    );
  }
  if (allMaterials(key).some((m) => materialState(key, m) === 'PENDING_ROTATION')) {
    throw new KmsError(
      'KMSInvalidStateException',
      `${keyArn(ctx, key.keyId)} already has key material pending rotation; rotate the key or delete that material first.`,
    );
  }
  return nextMaterialVersion(key);
}

const importVersion = (ctx: RegionContext, key: KeyRecord, input: ImportKeyMaterialRequest, id: string, importType: string): number =>
  importType === 'NEW_KEY_MATERIAL' ? newMaterialVersion(ctx, key, input, id) : existingMaterialVersion(key, id);

/** EXISTING_KEY_MATERIAL: only material already associated with the key may come back. */
function existingMaterialVersion(key: KeyRecord, id: string): number {
  const version = boundVersionOf(key, id);
  if (version === undefined)
    throw new KmsError('IncorrectKeyMaterialException', 'The key material is not the key material previously imported into this KMS key.');
  return version;
}

const allBoundMaterialPresent = (key: KeyRecord): boolean => !(key.deletedMaterials ?? []).some((m) => materialState(key, m) !== 'PENDING_ROTATION');

/**
 * Deletes imported material. Material pending rotation was never bound to the key and is
 * forgotten; bound material is remembered without its bytes and the key awaits re-import.
 */
function removeMaterial(key: KeyRecord, version: number): void {
  const present = key.materials.find((m) => m.version === version);
  key.materials = key.materials.filter((m) => m.version !== version);
  if (version > key.currentMaterial) {
    key.deletedMaterials = (key.deletedMaterials ?? []).filter((m) => m.version !== version);
    unbindPendingMaterial(key, version);
    return;
  }
  if (present) {
    const { wrapped: _wrapped, ...info } = present;
    key.deletedMaterials = [...(key.deletedMaterials ?? []), info];
  }
  if (key.state !== 'PendingDeletion') key.state = 'PendingImport';
}

/** Background work: deletes imported material whose ValidTo has passed, and expired import parameters. */
export async function expireImportedMaterial(deps: OperationDeps): Promise<number> {
  const { ctx } = deps;
  let expired = 0;
  await changeDueKeys(deps, 'expiry/', 'material-expired', (key) => {
    for (const material of key.materials) {
      if (material.imported?.validTo !== undefined && material.imported.validTo <= ctx.now()) {
        removeMaterial(key, material.version);
        expired += 1;
      }
    }
  });
  await purgeExpiredImportParameters(ctx);
  return expired;
}
