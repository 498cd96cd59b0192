import { randomBytes } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import {
  allMaterials,
  changeDueKeys,
  changeKey,
  isSymmetric,
  materialId,
  materialState,
  nextMaterialVersion,
  nextRotationDate,
  refuseOnReplica,
  requireEnabled,
  updateKey,
  type KeyRecord,
} from '../keys/index.ts';
import type { GetKeyRotationStatusResponse, ListKeyRotationsResponse, NoOutput, RotateKeyOnDemandResponse } from '../kms-api.ts';
import { toEpochSeconds, type OperationDeps, type Operations } from '../operation.ts';
import { pageOf } from '../paging.ts';
import { keyArn, type RegionContext } from '../region-context.ts';

const DEFAULT_ROTATION_PERIOD_DAYS = 365;
const ON_DEMAND_ROTATION_LIMIT = 25;
/** AWS refuses on-demand rotation this close before an automatic one. */
const AUTOMATIC_ROTATION_GUARD_MS = 20 * 60 * 1000;
const LIST_ROTATIONS_DEFAULT_LIMIT = 100;

export function rotationOperations(
  deps: OperationDeps,
): Operations<'EnableKeyRotation' | 'DisableKeyRotation' | 'GetKeyRotationStatus' | 'RotateKeyOnDemand' | 'ListKeyRotations'> {
  const { ctx, keys, authorize } = deps;

  return {
    async EnableKeyRotation(input, caller): Promise<NoOutput> {
      const periodDays: number = input.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS;
      await updateKey(deps, input.KeyId, caller, 'EnableKeyRotation', (key) => {
        requireAutomaticRotation(ctx, key);
        requireEnabled(keyArn(ctx, key.keyId), key.state);
        key.autoRotation = { periodDays, since: key.autoRotation?.since ?? ctx.now() };
      });
      return {};
    },

    async DisableKeyRotation(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'DisableKeyRotation', (key) => {
        requireAutomaticRotation(ctx, key);
        requireEnabled(keyArn(ctx, key.keyId), key.state);
        delete key.autoRotation;
      });
      return {};
    },

    async GetKeyRotationStatus(input, caller): Promise<GetKeyRotationStatusResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'GetKeyRotationStatus', key);
      // Keys that cannot rotate automatically (asymmetric, HMAC, imported material) never carry
      // autoRotation, so they report false, as AWS documents. A key pending deletion reports
      // rotation off; cancelling the deletion brings it back.
      const rotation = key.state === 'PendingDeletion' ? undefined : key.autoRotation;
      return {
        KeyRotationEnabled: rotation !== undefined,
        KeyId: keyArn(ctx, key.keyId),
        ...(rotation ? { RotationPeriodInDays: rotation.periodDays, NextRotationDate: toEpochSeconds(nextRotationDate(rotation)) } : {}),
      };
    },

    async RotateKeyOnDemand(input, caller): Promise<RotateKeyOnDemandResponse> {
      const key = await updateKey(deps, input.KeyId, caller, 'RotateKeyOnDemand', async (key) => {
        requireRotatable(ctx, key, 'RotateKeyOnDemand');
        const arn = keyArn(ctx, key.keyId);
        requireEnabled(arn, key.state);
        if (allMaterials(key).filter((m) => m.rotation?.type === 'ON_DEMAND').length >= ON_DEMAND_ROTATION_LIMIT) {
          throw new KmsError('LimitExceededException', `${arn} has reached the limit of ${ON_DEMAND_ROTATION_LIMIT} on-demand rotations.`);
        }
        if (key.autoRotation && nextRotationDate(key.autoRotation) - ctx.now() < AUTOMATIC_ROTATION_GUARD_MS) {
          throw new KmsError('ConflictException', `An automatic rotation of ${arn} is in progress or due within 20 minutes.`);
        }
        await rotate(deps, key, 'ON_DEMAND');
      });
      return { KeyId: keyArn(ctx, key.keyId) };
    },

    async ListKeyRotations(input, caller): Promise<ListKeyRotationsResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListKeyRotations', key);
      requireSymmetric(ctx, key, 'ListKeyRotations');
      const after = rotationMarker(input.Marker);
      const limit: number = input.Limit ?? LIST_ROTATIONS_DEFAULT_LIMIT;
      const includeAll = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
      const listed = allMaterials(key).filter((m) => m.version > after && (includeAll || m.rotation !== undefined));
      const { page, ...more } = pageOf(listed, limit, (material) => String(material.version));
      const present = new Set(key.materials.map((m) => m.version));
      return {
        Rotations: page.map((material) => ({
          KeyId: key.keyId,
          KeyMaterialId: materialId(key.keyId, material),
          KeyMaterialState: materialState(key, material),
          ...(material.rotation ? { RotationDate: toEpochSeconds(material.rotation.date), RotationType: material.rotation.type } : {}),
          ...(material.imported
            ? {
                ...(material.imported.description !== undefined ? { KeyMaterialDescription: material.imported.description } : {}),
                ImportState: present.has(material.version) ? 'IMPORTED' : 'PENDING_IMPORT',
                ExpirationModel: material.imported.expirationModel,
                ...(material.imported.validTo !== undefined ? { ValidTo: toEpochSeconds(material.imported.validTo) } : {}),
              }
            : {}),
        })),
        ...more,
      };
    },
  };
}

/**
 * Makes a new material version current: fresh material for generated keys, or the imported
 * material waiting for rotation. Earlier versions stay, so their ciphertext still decrypts.
 */
async function rotate({ ctx, keys }: OperationDeps, key: KeyRecord, type: 'AUTOMATIC' | 'ON_DEMAND'): Promise<void> {
  const rotation = { type, date: ctx.now() };
  if (key.origin === 'EXTERNAL') {
    const pending = key.materials.find((m) => materialState(key, m) === 'PENDING_ROTATION');
    if (!pending) {
      throw new KmsError('KMSInvalidStateException', `${keyArn(ctx, key.keyId)} has no imported key material pending rotation; import new key material first.`);
    }
    pending.rotation = rotation;
    key.currentMaterial = pending.version;
    return;
  }
  const version = nextMaterialVersion(key);
  key.materials.push({ ...(await keys.wrapMaterial(key.keyId, version, randomBytes(32))), rotation });
  key.currentMaterial = version;
}

/** The one place that decides which keys may rotate at all; later kinds of keys add their refusals here. */
function requireRotatable(ctx: RegionContext, key: KeyRecord, action: string): void {
  refuseOnReplica(key, action);
  requireSymmetric(ctx, key, action);
  if (key.customKeyStore) {
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx, key.keyId)} is in a custom key store, whose keys do not support ${action}.`);
  }
}

/** Automatic rotation also excludes imported material, which Concord cannot generate anew. */
function requireAutomaticRotation(ctx: RegionContext, key: KeyRecord): void {
  requireRotatable(ctx, key, 'automatic key rotation');
  if (key.origin !== 'AWS_KMS') {
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx, key.keyId)} has imported key material, which does not support automatic key rotation.`);
  }
}

function requireSymmetric(ctx: RegionContext, key: KeyRecord, action: string): void {
  if (!isSymmetric(key.keySpec)) {
    throw new KmsError('UnsupportedOperationException', `${keyArn(ctx, key.keyId)} has key spec ${key.keySpec}, which does not support ${action}.`);
  }
}

function rotationMarker(marker: string | undefined): number {
  if (marker === undefined) return 0;
  if (!/^\d{1,9}$/.test(marker)) throw new KmsError('InvalidMarkerException', 'The marker is not valid.');
  return Number(marker);
}

/**
 * Rotates one Enabled key with generated material now, as an automatic rotation, for a schedule
 * another module keeps; answers false for a key that is not Enabled (gone, disabled, pending
 * deletion), which that schedule skips.
 */
export async function rotateKeyNow(deps: OperationDeps, keyId: string): Promise<boolean> {
  const { ctx, keys, events } = deps;
  return events.transaction(async (tx, publish) => {
    const key = await keys.getForUpdate(tx, keyId);
    if (key?.state !== 'Enabled') return false;
    requireAutomaticRotation(ctx, key);
    await changeKey(tx, key, (changed) => rotate(deps, changed, 'AUTOMATIC'), { publish, kind: 'rotated' });
    return true;
  });
}

/** Background work: rotates every Enabled key whose automatic rotation is due. */
export async function rotateDueKeys(deps: OperationDeps): Promise<number> {
  const { ctx } = deps;
  let rotated = 0;
  await changeDueKeys(deps, 'rotation/', 'rotated', async (key) => {
    if (!key.autoRotation || key.state !== 'Enabled' || nextRotationDate(key.autoRotation) > ctx.now()) return;
    await rotate(deps, key, 'AUTOMATIC');
    key.autoRotation.since = ctx.now();
    rotated += 1;
  });
  return rotated;
}
