import { randomBytes } from 'node:crypto';
import type { EncryptionContext } from '../../../crypto/index.ts';
import { toEpochSeconds } from '../../operation.ts';
import { keyArn, type RegionContext } from '../../region-context.ts';
import { contextValuesByKey } from '../context-values-by-key.ts';

/** A grant as stored under grant/<keyId>/<grantId>. */
export interface GrantRecord {
  grantId: string;
  keyId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  issuingAccount: string;
  operations: string[];
  constraints?: { EncryptionContextEquals?: EncryptionContext; EncryptionContextSubset?: EncryptionContext };
  createdAt: number;
}

export const grantPrefix = (keyId: string): string => `grant/${keyId}/`;
export const grantPath = (keyId: string, grantId: string): string => `${grantPrefix(keyId)}${grantId}`;

/**
 * The grant operations of a symmetric encryption key: those that take an encryption context,
 * so the only ones grant constraints apply to.
 */
export const SYMMETRIC_ENCRYPTION_OPERATIONS: readonly string[] = [
  'Encrypt',
  'Decrypt',
  'ReEncryptFrom',
  'ReEncryptTo',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
];
const CONTEXT_OPERATIONS = new Set(SYMMETRIC_ENCRYPTION_OPERATIONS);

/** Whether the grant permits `operation` on its key for a request with this encryption context. */
export function grantPermits(grant: GrantRecord, operation: string, symmetricKey: boolean, context: EncryptionContext | undefined): boolean {
  if (!grant.operations.includes(operation)) return false;
  if (!grant.constraints || !symmetricKey || !CONTEXT_OPERATIONS.has(operation)) return true;
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = grant.constraints;
  if (equals && !sameContext(context, equals)) return false;
  return !subset || containsContext(context, subset);
}

/**
 * A grantee creating a grant through its own grant passes on no operation it does not hold,
 * under a constraint at least as strict as its own (`context` is the new grant's constraint).
 */
export function derivedGrantWithin(
  parent: GrantRecord,
  operations: readonly string[],
  constraintType: string | undefined,
  context: EncryptionContext | undefined,
): boolean {
  if (!operations.every((operation) => parent.operations.includes(operation))) return false;
  const { EncryptionContextEquals: equals, EncryptionContextSubset: subset } = parent.constraints ?? {};
  if (equals) return constraintType === 'EncryptionContextEquals' && sameContext(context, equals);
  return !subset || (constraintType !== undefined && containsContext(context, subset));
}

/**
 * In a grant constraint context keys are case-insensitive and values case-sensitive (as AWS
 * documents). A request naming one key in several cases must satisfy the constraint with each
 * of them, so `{Dept: 'b', dept: 'a'}` meets neither `{dept: 'a'}` nor `{dept: 'b'}`.
 */
const containsContext = (context: EncryptionContext | undefined, required: EncryptionContext): boolean => {
  const present = contextValuesByKey(context);
  return Object.entries(required).every(([key, value]) => present.get(key.toLowerCase())?.every((given) => given === value) === true);
};

/** The same pairs, one for one: every pair of each side is in the other, and neither side has more. */
const sameContext = (context: EncryptionContext | undefined, required: EncryptionContext): boolean =>
  Object.keys(context ?? {}).length === Object.keys(required).length && containsContext(context, required) && containsContext(required, context ?? {});

/**
 * Grant tokens name their grant. Concord's store is consistent, so a grant is usable as soon
 * as CreateGrant returns; the token still has to be one this service issued.
 */
export function grantToken(keyId: string, grantId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, k: keyId, g: grantId, n: randomBytes(16).toString('base64url') })).toString('base64url');
}

export function parseGrantToken(token: string): { keyId: string; grantId: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; k?: unknown; g?: unknown };
    if (parsed.v === 1 && typeof parsed.k === 'string' && typeof parsed.g === 'string') return { keyId: parsed.k, grantId: parsed.g };
  } catch {
    return undefined;
  }
  return undefined;
}

/** A grant in the GrantListEntry shape of ListGrants and ListRetirableGrants. */
export function grantListEntry(ctx: Pick<RegionContext, 'region' | 'account'>, grant: GrantRecord): Record<string, unknown> {
  return {
    KeyId: keyArn(ctx, grant.keyId),
    GrantId: grant.grantId,
    ...(grant.name !== undefined ? { Name: grant.name } : {}),
    CreationDate: toEpochSeconds(grant.createdAt),
    GranteePrincipal: grant.granteePrincipal,
    ...(grant.retiringPrincipal !== undefined ? { RetiringPrincipal: grant.retiringPrincipal } : {}),
    IssuingAccount: `arn:aws:iam::${grant.issuingAccount}:root`,
    Operations: grant.operations,
    ...(grant.constraints ? { Constraints: grant.constraints } : {}),
  };
}
