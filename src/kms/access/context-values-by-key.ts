import type { EncryptionContext } from '../../crypto/index.ts';

/**
 * The values of an encryption context by lower-case key. Grant constraints and policy
 * conditions compare context keys case-insensitively, so keys differing only in case are one
 * key with several values, which must never be collapsed into one (the last would win).
 */
export function contextValuesByKey(context: EncryptionContext | undefined): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const [key, value] of Object.entries(context ?? {})) {
    const known = byKey.get(key.toLowerCase());
    if (known) known.push(value);
    else byKey.set(key.toLowerCase(), [value]);
  }
  return byKey;
}
