import type { ConditionValues } from './conditions.ts';

/** What the request tells policies, by lower-case condition key. */
export interface RequestDescription {
  principal: string;
  account: string;
  encryptionContext?: Record<string, string> | undefined;
  /** Further condition keys the operation supplies, e.g. kms:GrantOperations for CreateGrant. */
  extra?: Record<string, string | readonly string[] | undefined>;
}

export function requestValues({ principal, account, encryptionContext, extra }: RequestDescription): ConditionValues {
  const values = new Map<string, readonly string[]>([
    ['kms:calleraccount', [account]],
    ['aws:principalarn', [principal]],
    ['aws:principalaccount', [account]],
  ]);
  const contextKeys = Object.keys(encryptionContext ?? {});
  for (const key of contextKeys) values.set(`kms:encryptioncontext:${key.toLowerCase()}`, [encryptionContext![key]!]);
  if (contextKeys.length > 0) values.set('kms:encryptioncontextkeys', contextKeys);
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value !== undefined) values.set(key.toLowerCase(), typeof value === 'string' ? [value] : value);
  }
  return values;
}
