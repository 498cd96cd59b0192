import { randomBytes } from 'node:crypto';
import { KmsError } from '../../../errors/index.ts';
import { isSymmetric, requireNotPendingDeletion, type KeyRecord } from '../../keys/index.ts';
import { finishDryRun, type OperationDeps, type Operations } from '../../operation.ts';
import { markerKey, pageOf } from '../../paging.ts';
import { callerIs, keyArn, type Caller } from '../../region-context.ts';
import { grantListEntry, grantPrefix, grantToken, parseGrantToken, SYMMETRIC_ENCRYPTION_OPERATIONS, type GrantRecord } from './grant-record.ts';
import { addGrant, granteeGrants, granteePrefix, grantForUpdate, removeGrant } from './grant-store.ts';
import type { CreateGrantResponse, ListGrantsResponse, NoOutput, RetireGrantRequest } from '../../kms-api.ts';

const LIST_GRANTS_DEFAULT_LIMIT = 50;

/** Grant operations each key usage supports, besides CreateGrant, RetireGrant and DescribeKey. */
const OPERATIONS_BY_USAGE: Record<string, { symmetric: readonly string[]; asymmetric: readonly string[] }> = {
  ENCRYPT_DECRYPT: {
    symmetric: SYMMETRIC_ENCRYPTION_OPERATIONS,
    asymmetric: ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'],
  },
  SIGN_VERIFY: { symmetric: [], asymmetric: ['Sign', 'Verify', 'GetPublicKey'] },
  GENERATE_VERIFY_MAC: { symmetric: ['GenerateMac', 'VerifyMac'], asymmetric: [] },
  KEY_AGREEMENT: { symmetric: [], asymmetric: ['DeriveSharedSecret', 'GetPublicKey'] },
};
const ANY_KEY_OPERATIONS = ['CreateGrant', 'RetireGrant', 'DescribeKey'];

export function grantOperations(deps: OperationDeps): Operations<'CreateGrant' | 'ListGrants' | 'ListRetirableGrants' | 'RetireGrant' | 'RevokeGrant'> {
  const { ctx, keys, authorize } = deps;

  const checkOperations = (key: KeyRecord, operations: string[]): void => {
    const byUsage = OPERATIONS_BY_USAGE[key.keyUsage];
    const supported = [...ANY_KEY_OPERATIONS, ...((isSymmetric(key.keySpec) ? byUsage?.symmetric : byUsage?.asymmetric) ?? [])];
    const invalid = operations.filter((operation) => !supported.includes(operation));
    if (invalid.length > 0) {
      throw new KmsError(
        'ValidationException',
        `Grant operations ${invalid.join(', ')} are not valid for a KMS key with key spec ${key.keySpec} and key usage ${key.keyUsage}.`,
      );
    }
  };

  const listPage = (grants: GrantRecord[], limit: number, markerOf: (grant: GrantRecord) => string): ListGrantsResponse => {
    const { page, ...more } = pageOf(grants, limit, markerOf);
    return { Grants: page.map((grant) => grantListEntry(ctx, grant)), ...more };
  };

  /** The grant RetireGrant names, by its token or by key and grant ID. */
  const retireTarget = async (input: RetireGrantRequest): Promise<{ keyId: string; grantId: string }> => {
    if (input.GrantToken !== undefined) {
      const named = parseGrantToken(input.GrantToken);
      if (!named) throw new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
      return named;
    }
    if (input.KeyId === undefined || input.GrantId === undefined) {
      throw new KmsError('ValidationException', 'Specify either a GrantToken or both KeyId and GrantId.');
    }
    return { keyId: await keys.resolveKeyId(input.KeyId, { allowAlias: false }), grantId: input.GrantId };
  };

  /** The retiring principal, the grantee when the grant includes RetireGrant, or the issuing account may retire a grant. */
  const mayRetire = (caller: Caller, grant: GrantRecord): boolean =>
    callerIs(caller, grant.retiringPrincipal) ||
    (callerIs(caller, grant.granteePrincipal) && grant.operations.includes('RetireGrant')) ||
    caller.arn === `arn:aws:iam::${grant.issuingAccount}:root`;

  return {
    async CreateGrant(input, caller): Promise<CreateGrantResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = input.Constraints ?? {};
      // For CreateGrant, kms:EncryptionContext: condition keys see the new grant's constraint, as in AWS.
      await authorize(caller, 'CreateGrant', key, {
        grantTokens: input.GrantTokens,
        encryptionContext: equals ?? subset,
        conditions: {
          'kms:GrantOperations': input.Operations,
          'kms:GranteePrincipal': input.GranteePrincipal,
          'kms:RetiringPrincipal': input.RetiringPrincipal,
          'kms:GrantConstraintType': equals ? 'EncryptionContextEquals' : subset ? 'EncryptionContextSubset' : undefined,
        },
      });
      requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
      const operations = [...new Set<string>(input.Operations)];
      checkOperations(key, operations);
      finishDryRun(input);
      const requested: Omit<GrantRecord, 'grantId' | 'createdAt'> = {
        keyId: key.keyId,
        granteePrincipal: input.GranteePrincipal,
        issuingAccount: caller.account,
        operations,
        ...(input.Name !== undefined ? { name: input.Name } : {}),
        ...(input.RetiringPrincipal !== undefined ? { retiringPrincipal: input.RetiringPrincipal } : {}),
        ...(input.Constraints !== undefined ? { constraints: input.Constraints } : {}),
      };
      const grantId = await ctx.store.transaction(async (tx) => {
        if (input.Name !== undefined) {
          const same = (await granteeGrants(tx, key.keyId, requested.granteePrincipal)).find(
            (grant) => grant.name === input.Name && sameParameters(grant, requested),
          );
          if (same) return same.grantId;
        }
        const grant: GrantRecord = { ...requested, grantId: randomBytes(32).toString('hex'), createdAt: ctx.now() };
        await addGrant(ctx, tx, grant);
        return grant.grantId;
      });
      return { GrantToken: grantToken(key.keyId, grantId), GrantId: grantId };
    },

    async ListGrants(input, caller): Promise<ListGrantsResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListGrants', key);
      // Listing one grantee's grants reads only its index entries, in grant ID order like the full listing.
      const prefix = input.GranteePrincipal === undefined ? grantPrefix(key.keyId) : granteePrefix(key.keyId, input.GranteePrincipal);
      const entries = await ctx.store.list(prefix, { after: markerKey(input.Marker, prefix) });
      const grants = entries
        .map((entry) => JSON.parse(entry.value) as GrantRecord)
        .filter((grant) => input.GrantId === undefined || grant.grantId === input.GrantId);
      return listPage(grants, input.Limit ?? LIST_GRANTS_DEFAULT_LIMIT, (grant) => grant.grantId);
    },

    async ListRetirableGrants(input, caller): Promise<ListGrantsResponse> {
      await deps.authorizeIdentity(caller, 'ListRetirableGrants');
      const entries = await ctx.store.list('grant/', { after: markerKey(input.Marker, 'grant/') });
      const grants = entries.map((entry) => JSON.parse(entry.value) as GrantRecord).filter((grant) => grant.retiringPrincipal === input.RetiringPrincipal);
      return listPage(grants, input.Limit ?? LIST_GRANTS_DEFAULT_LIMIT, (grant) => `${grant.keyId}/${grant.grantId}`);
    },

    async RetireGrant(input, caller): Promise<NoOutput> {
      const { keyId, grantId } = await retireTarget(input);
      await ctx.store.transaction(async (tx) => {
        const grant = await grantForUpdate(tx, keyId, grantId);
        if (!grant) throw new KmsError('NotFoundException', `Grant ID ${grantId} not found.`);
        if (!mayRetire(caller, grant)) {
          throw new KmsError(
            'AccessDeniedException',
            `User: ${caller.arn} is not authorized to perform: kms:RetireGrant on resource: ${keyArn(ctx, keyId)} because the grant does not name it as a retiring principal`,
          );
        }
        finishDryRun(input);
        await removeGrant(tx, grant);
      });
      return {};
    },

    async RevokeGrant(input, caller): Promise<NoOutput> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'RevokeGrant', key);
      await ctx.store.transaction(async (tx) => {
        const grant = await grantForUpdate(tx, key.keyId, input.GrantId);
        if (!grant) throw new KmsError('NotFoundException', `Grant ID ${input.GrantId} not found.`);
        finishDryRun(input);
        await removeGrant(tx, grant);
      });
      return {};
    },
  };
}

/** Name idempotency: a retried CreateGrant with the same name and parameters returns the same grant. */
function sameParameters(grant: GrantRecord, requested: Omit<GrantRecord, 'grantId' | 'createdAt'>): boolean {
  const canonical = (g: Omit<GrantRecord, 'grantId' | 'createdAt'>) =>
    JSON.stringify([g.granteePrincipal, g.retiringPrincipal ?? null, [...g.operations].sort(), sortedConstraints(g.constraints)]);
  return canonical(grant) === canonical(requested);
}

function sortedConstraints(constraints: GrantRecord['constraints']): unknown {
  if (!constraints) return null;
  const sorted = (context: Record<string, string> | undefined) => (context ? Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)) : null);
  return [sorted(constraints.EncryptionContextEquals), sorted(constraints.EncryptionContextSubset)];
}
