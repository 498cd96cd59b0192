import { KmsError } from '../../errors/index.ts';
import { StoreConflictError, type Transaction } from '../../store/index.ts';
import { aliasPath, requireNotPendingDeletion, type AliasRecord, type KeyRecord } from '../keys/index.ts';
import type { ListAliasesResponse, NoOutput } from '../kms-api.ts';
import { toEpochSeconds, type OperationDeps, type Operations } from '../operation.ts';
import { markerKey, pageOf } from '../paging.ts';
import { aliasArn, keyArn, type Caller } from '../region-context.ts';

const LIST_ALIASES_DEFAULT_LIMIT = 50;

/** Refuses alias names AWS refuses: without the alias/ prefix, or in the reserved alias/aws/ space. */
function checkAliasName(aliasName: string): void {
  if (!aliasName.startsWith('alias/') || aliasName.length === 'alias/'.length) {
    throw new KmsError('ValidationException', 'Alias must start with the prefix "alias/".');
  }
  if (aliasName.startsWith('alias/aws/')) {
    throw new KmsError('InvalidAliasNameException', `Alias ${aliasName} uses the reserved prefix alias/aws/.`);
  }
}

export function aliasOperations({
  ctx,
  keys,
  authorize,
  authorizeIdentity,
}: OperationDeps): Operations<'CreateAlias' | 'UpdateAlias' | 'DeleteAlias' | 'ListAliases'> {
  /** The key an alias may point to: named by key ID or ARN, permitted, and not being deleted. */
  const aliasTarget = async (tx: Transaction, targetKeyId: string, caller: Caller, action: string): Promise<KeyRecord> => {
    const key = await keys.load(await keys.resolveKeyId(targetKeyId, { allowAlias: false }, tx), tx);
    await authorize(caller, action, key);
    requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
    return key;
  };

  return {
    async CreateAlias(input, caller): Promise<NoOutput> {
      checkAliasName(input.AliasName);
      await ctx.store
        .transaction(async (tx) => {
          const key = await aliasTarget(tx, input.TargetKeyId, caller, 'CreateAlias');
          const now = ctx.now();
          const record: AliasRecord = { aliasName: input.AliasName, targetKeyId: key.keyId, createdAt: now, updatedAt: now };
          await tx.create(aliasPath(input.AliasName), JSON.stringify(record));
        })
        .catch((error: unknown) => {
          if (error instanceof StoreConflictError) {
            throw new KmsError('AlreadyExistsException', `An alias with the name ${aliasArn(ctx, input.AliasName)} already exists`);
          }
          throw error;
        });
      return {};
    },

    async UpdateAlias(input, caller): Promise<NoOutput> {
      checkAliasName(input.AliasName);
      await ctx.store.transaction(async (tx) => {
        const target = await aliasTarget(tx, input.TargetKeyId, caller, 'UpdateAlias');
        const raw = await tx.getForUpdate(aliasPath(input.AliasName));
        if (!raw) throw new KmsError('NotFoundException', `Alias ${aliasArn(ctx, input.AliasName)} is not found.`);
        const alias = JSON.parse(raw) as AliasRecord;
        const current = await keys.load(alias.targetKeyId, tx);
        await authorize(caller, 'UpdateAlias', current);
        if (current.keyUsage !== target.keyUsage || current.keySpec !== target.keySpec) {
          throw new KmsError(
            'ValidationException',
            `Alias ${input.AliasName} can only point to keys of key spec ${current.keySpec} and key usage ${current.keyUsage}.`,
          );
        }
        alias.targetKeyId = target.keyId;
        alias.updatedAt = ctx.now();
        tx.put(aliasPath(input.AliasName), JSON.stringify(alias));
      });
      return {};
    },

    async DeleteAlias(input, caller): Promise<NoOutput> {
      checkAliasName(input.AliasName);
      await ctx.store.transaction(async (tx) => {
        const raw = await tx.getForUpdate(aliasPath(input.AliasName));
        if (!raw) throw new KmsError('NotFoundException', `Alias ${aliasArn(ctx, input.AliasName)} is not found.`);
        const alias = JSON.parse(raw) as AliasRecord;
        await authorize(caller, 'DeleteAlias', await keys.load(alias.targetKeyId, tx));
        tx.delete(aliasPath(input.AliasName));
      });
      return {};
    },

    async ListAliases(input, caller): Promise<ListAliasesResponse> {
      const limit: number = input.Limit ?? LIST_ALIASES_DEFAULT_LIMIT;
      await authorizeIdentity(caller, 'ListAliases');
      const targetKeyId = input.KeyId === undefined ? undefined : (await keys.find(input.KeyId, { allowAlias: false })).keyId;
      const after = markerKey(input.Marker, 'alias/');
      const aliases = (await ctx.store.list('alias/', { after }))
        .map((entry) => JSON.parse(entry.value) as AliasRecord)
        .filter((alias) => targetKeyId === undefined || alias.targetKeyId === targetKeyId);
      const { page, ...more } = pageOf(aliases, limit, (alias) => alias.aliasName);
      return {
        Aliases: page.map((alias) => ({
          AliasName: alias.aliasName,
          AliasArn: aliasArn(ctx, alias.aliasName),
          TargetKeyId: alias.targetKeyId,
          CreationDate: toEpochSeconds(alias.createdAt),
          LastUpdatedDate: toEpochSeconds(alias.updatedAt),
        })),
        ...more,
      };
    },
  };
}
