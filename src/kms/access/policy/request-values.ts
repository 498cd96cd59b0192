import { contextValuesByKey } from '../context-values-by-key.ts';
import type { ConditionValue, ConditionValues } from './conditions.ts';

/** What the request tells policies, by lower-case condition key. */
export interface RequestDescription {
  /** aws:PrincipalArn: for a role session, the role's ARN. */
  principal: string;
  /** Session tags: aws:PrincipalTag/<key>. */
  principalTags?: Readonly<Record<string, string>> | undefined;
  account: string;
  /** The region deciding the request: aws:RequestedRegion. */
  region: string;
  encryptionContext?: Record<string, string> | undefined;
  /** Further condition keys the operation supplies, e.g. kms:GrantOperations for CreateGrant. */
  extra?: Record<string, string | readonly string[] | undefined>;
}

export function requestValues({ principal, principalTags, account, region, encryptionContext, extra }: RequestDescription): ConditionValues {
  const values = new Map<string, ConditionValue>([
    ['kms:calleraccount', [account]],
    ['aws:principalarn', [principal]],
    ['aws:principalaccount', [account]],
    ['aws:requestedregion', [region]],
  ]);
  for (const [key, value] of Object.entries(principalTags ?? {})) values.set(`aws:principaltag/${key.toLowerCase()}`, [value]);
  const contextKeys = Object.keys(encryptionContext ?? {});
  // Context keys differing only in case are one condition key, read as any of their values.
  for (const [key, variants] of contextValuesByKey(encryptionContext)) values.set(`kms:encryptioncontext:${key}`, { readings: variants });
  if (contextKeys.length > 0) values.set('kms:encryptioncontextkeys', contextKeys);
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value !== undefined) values.set(key.toLowerCase(), typeof value === 'string' ? [value] : value);
  }
  return values;
}
