import { randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import { timeIndexTime } from '../../store/index.ts';
import { defaultKeyPolicy, removeKeyGrants } from '../access/index.ts';
import {
  aliasPath,
  generateKeyMaterial,
  hasReplicas,
  keyMetadata,
  keyPath,
  keySpecs,
  requireNotPendingDeletion,
  requireState,
  updateKey,
  type AliasRecord,
  type KeyRecord,
} from '../keys/index.ts';
import type { CancelKeyDeletionResponse, CreateKeyResponse, DescribeKeyResponse, ListKeysResponse, NoOutput, ScheduleKeyDeletionResponse } from '../kms-api.ts';
import { toEpochSeconds, type OperationDeps, type Operations } from '../operation.ts';
import { markerKey, pageOf } from '../paging.ts';
import { keyArn } from '../region-context.ts';
import { checkTags } from '../tags/index.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_PENDING_WINDOW_DAYS = 30;
const LIST_KEYS_DEFAULT_LIMIT = 100;

export function lifecycleOperations(
  deps: OperationDeps,
): Operations<'CreateKey' | 'DescribeKey' | 'ListKeys' | 'UpdateKeyDescription' | 'EnableKey' | 'DisableKey' | 'ScheduleKeyDeletion' | 'CancelKeyDeletion'> {
  const { ctx, keys, authorize } = deps;

  return {
    async CreateKey(input, caller): Promise<CreateKeyResponse> {
      await deps.authorizeIdentity(caller, 'CreateKey');
      if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
        throw new KmsError('ValidationException', 'You cannot specify both CustomerMasterKeySpec and KeySpec.');
      }
      const keySpec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
      const spec = keySpecs[keySpec];
      if (!spec) throw new KmsError('UnsupportedOperationException', `KeySpec ${keySpec} is not supported by Concord.`);
      const keyUsage = input.KeyUsage ?? spec.usages[0]!;
      if (!spec.usages.includes(keyUsage)) {
        throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}.`);
      }
      const origin = input.Origin ?? 'AWS_KMS';
      if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL' && origin !== 'AWS_CLOUDHSM') {
        throw new KmsError('UnsupportedOperationException', `Origin ${origin} is not supported by Concord.`);
      }
      const inKeyStore = origin === 'AWS_CLOUDHSM';
      if (inKeyStore !== (input.CustomKeyStoreId !== undefined)) {
        throw new KmsError('ValidationException', 'A KMS key in a CloudHSM key store has Origin AWS_CLOUDHSM and a CustomKeyStoreId; other keys have neither.');
      }
      if (inKeyStore && (keySpec !== 'SYMMETRIC_DEFAULT' || input.MultiRegion === true)) {
        throw new KmsError('UnsupportedOperationException', 'A CloudHSM key store holds single-Region symmetric encryption keys only.');
      }
      const tags = input.Tags ?? [];
      checkTags(tags);
      const multiRegion = input.MultiRegion === true;
      const keyId = multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
      if (input.Policy !== undefined) deps.checkKeyPolicy(input.Policy, caller, keyId, input.BypassPolicyLockoutSafetyCheck === true);
      const materials = origin === 'AWS_KMS' ? [await keys.wrapMaterial(keyId, 1, await generateKeyMaterial(keySpec))] : [];
      let customKeyStore: KeyRecord['customKeyStore'];
      if (inKeyStore) {
        if (!deps.customKeyStores) throw new KmsError('CustomKeyStoreNotFoundException', `Custom key store ${input.CustomKeyStoreId!} does not exist.`);
        customKeyStore = await deps.customKeyStores.createKey(input.CustomKeyStoreId!, keyId);
      }
      const key: KeyRecord = {
        keyId,
        account: ctx.account,
        region: ctx.region,
        createdAt: ctx.now(),
        description: input.Description ?? '',
        keySpec,
        keyUsage,
        origin,
        state: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
        policy: input.Policy ?? defaultKeyPolicy(ctx.account),
        tags,
        materials,
        currentMaterial: materials.length > 0 || customKeyStore ? 1 : 0,
        multiRegion,
        ...(customKeyStore ? { customKeyStore } : {}),
      };
      await deps.events.transaction(async (tx, publish) => {
        await publish({ kind: 'created', keyId, after: key });
        await tx.create(keyPath(keyId), JSON.stringify(key));
      });
      return { KeyMetadata: keyMetadata(ctx, key) };
    },

    async DescribeKey(input, caller): Promise<DescribeKeyResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: true });
      await authorize(caller, 'DescribeKey', key);
      const metadata = keyMetadata(ctx, key);
      // AWS shows a key whose custom key store is disconnected as Unavailable, whatever its own state.
      const unavailable = key.customKeyStore && !(await deps.customKeyStores?.connected(key.customKeyStore.id));
      return { KeyMetadata: unavailable ? { ...metadata, KeyState: 'Unavailable' } : metadata };
    },

    async ListKeys(input, caller): Promise<ListKeysResponse> {
      await deps.authorizeIdentity(caller, 'ListKeys');
      const limit: number = input.Limit ?? LIST_KEYS_DEFAULT_LIMIT;
      const entries = await ctx.store.list('key/', { after: markerKey(input.Marker, 'key/'), limit: limit + 1 });
      const keyIds = entries.map(({ key }) => key.slice('key/'.length));
      const { page, ...more } = pageOf(keyIds, limit, (keyId) => keyId);
      return { Keys: page.map((keyId) => ({ KeyId: keyId, KeyArn: keyArn(ctx, keyId) })), ...more };
    },

    async UpdateKeyDescription(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'UpdateKeyDescription', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        key.description = input.Description;
      });
      return {};
    },

    async EnableKey(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'EnableKey', (key) => {
        requireState(keyArn(ctx, key.keyId), key.state, ['Enabled', 'Disabled']);
        key.state = 'Enabled';
      });
      return {};
    },

    async DisableKey(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'DisableKey', (key) => {
        requireState(keyArn(ctx, key.keyId), key.state, ['Enabled', 'Disabled']);
        key.state = 'Disabled';
      });
      return {};
    },

    async ScheduleKeyDeletion(input, caller): Promise<ScheduleKeyDeletionResponse> {
      const days: number = input.PendingWindowInDays ?? DEFAULT_PENDING_WINDOW_DAYS;
      if (days < 7 || days > 30) {
        throw new KmsError(
          'ValidationException',
          `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`,
        );
      }
      const key = await updateKey(deps, input.KeyId, caller, 'ScheduleKeyDeletion', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        key.pendingWindowDays = days;
        // A multi-Region primary waits for its replicas; its window starts when the last one is gone.
        if (hasReplicas(key)) {
          key.state = 'PendingReplicaDeletion';
          return;
        }
        key.state = 'PendingDeletion';
        key.deletionDate = ctx.now() + days * DAY_MS;
      });
      return {
        KeyId: keyArn(ctx, key.keyId),
        ...(key.deletionDate !== undefined ? { DeletionDate: toEpochSeconds(key.deletionDate) } : {}),
        KeyState: key.state,
        PendingWindowInDays: days,
      };
    },

    async CancelKeyDeletion(input, caller): Promise<CancelKeyDeletionResponse> {
      const key = await updateKey(deps, input.KeyId, caller, 'CancelKeyDeletion', (key) => {
        if (key.state !== 'PendingDeletion' && key.state !== 'PendingReplicaDeletion') {
          throw new KmsError('KMSInvalidStateException', `${keyArn(ctx, key.keyId)} is not pending deletion.`);
        }
        key.state = 'Disabled';
        delete key.deletionDate;
        delete key.pendingWindowDays;
      });
      return { KeyId: keyArn(ctx, key.keyId) };
    },
  };
}

/** Deletes every key whose pending deletion window has passed, with the aliases that point to it. */
export async function sweepDeletedKeys(deps: OperationDeps): Promise<number> {
  const { ctx, keys } = deps;
  const due = await ctx.store.list('deletion/', { limit: 500 });
  let deleted = 0;
  for (const entry of due) {
    const keyId = entry.value;
    if (timeIndexTime(entry.key) > ctx.now()) break;
    await deps.events.transaction(async (tx, publish) => {
      tx.delete(entry.key);
      const key = await keys.getForUpdate(tx, keyId);
      if (!key || key.state !== 'PendingDeletion') return;
      await publish({ kind: 'deleted', keyId, before: key });
      tx.delete(keyPath(keyId));
      for (const entry of await tx.list('alias/')) {
        const alias = JSON.parse(entry.value) as AliasRecord;
        if (alias.targetKeyId === keyId) tx.delete(aliasPath(alias.aliasName));
      }
      await removeKeyGrants(tx, keyId);
      deleted += 1;
    });
  }
  return deleted;
}
