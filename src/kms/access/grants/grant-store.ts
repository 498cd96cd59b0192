import { KmsError } from '../../../errors/index.ts';
import type { Reader, Store, Transaction } from '../../../store/index.ts';
import { keyPath } from '../../keys/index.ts';
import { keyArn, type RegionContext } from '../../region-context.ts';
import { grantPath, grantPrefix, type GrantRecord } from './grant-record.ts';

/** AWS's quota of grants per KMS key. */
export const GRANTS_PER_KEY = 50_000;

/**
 * A key's grants by grantee, `grantee/<keyId>/<grantee, URI-encoded>/<grantId>` holding the
 * grant record itself (grants never change), so authorizing a caller reads only its own grants
 * however many others the key has. Encoding keeps one grantee's prefix from covering another's.
 */
const granteeIndexPrefix = (keyId: string): string => `grantee/${keyId}/`;
export const granteePrefix = (keyId: string, grantee: string): string => `${granteeIndexPrefix(keyId)}${encodeURIComponent(grantee)}/`;
const granteePath = (grant: GrantRecord): string => `${granteePrefix(grant.keyId, grant.granteePrincipal)}${grant.grantId}`;
const countPath = (keyId: string): string => `grant-count/${keyId}`;
const INDEXED_MARK = 'meta/grants-indexed-by-grantee';
const INDEX_PAGE = 1000;

/** The grants on `keyId` whose grantee is `grantee`. */
export async function granteeGrants(reader: Reader, keyId: string, grantee: string): Promise<GrantRecord[]> {
  return (await reader.list(granteePrefix(keyId, grantee))).map((entry) => JSON.parse(entry.value) as GrantRecord);
}

/** Stores a new grant with its index entry, refusing it when the key already has GRANTS_PER_KEY grants. */
export async function addGrant(ctx: Pick<RegionContext, 'region' | 'account'>, tx: Transaction, grant: GrantRecord): Promise<void> {
  const count = await lockedCount(tx, grant.keyId);
  if (count >= GRANTS_PER_KEY) {
    throw new KmsError('LimitExceededException', `${keyArn(ctx, grant.keyId)} has reached the limit of ${GRANTS_PER_KEY} grants.`);
  }
  const value = JSON.stringify(grant);
  await tx.create(grantPath(grant.keyId, grant.grantId), value);
  tx.put(granteePath(grant), value);
  tx.put(countPath(grant.keyId), String(count + 1));
}

/** The grant by ID, held until the transaction ends (with the key's grant count). */
export async function grantForUpdate(tx: Transaction, keyId: string, grantId: string): Promise<GrantRecord | undefined> {
  await lockedCount(tx, keyId);
  const raw = await tx.getForUpdate(grantPath(keyId, grantId));
  return raw === undefined ? undefined : (JSON.parse(raw) as GrantRecord);
}

/** Deletes a grant read with grantForUpdate in the same transaction. */
export async function removeGrant(tx: Transaction, grant: GrantRecord): Promise<void> {
  const count = await lockedCount(tx, grant.keyId);
  tx.delete(grantPath(grant.keyId, grant.grantId));
  tx.delete(granteePath(grant));
  tx.put(countPath(grant.keyId), String(Math.max(count - 1, 0)));
}

/** Deletes every grant of a key being deleted, with its index entries and count. */
export async function removeKeyGrants(tx: Transaction, keyId: string): Promise<void> {
  for (const entry of await tx.list(grantPrefix(keyId))) tx.delete(entry.key);
  for (const entry of await tx.list(granteeIndexPrefix(keyId))) tx.delete(entry.key);
  tx.delete(countPath(keyId));
}

/**
 * The key's grant count, read under the key record's row lock: the count row may not exist
 * yet, and only an existing row can be locked, so every change of the count locks the key first.
 */
async function lockedCount(tx: Transaction, keyId: string): Promise<number> {
  await tx.getForUpdate(keyPath(keyId));
  return Number((await tx.get(countPath(keyId))) ?? 0);
}

/**
 * Gives grants stored before the grantee index existed their index entries and their keys a
 * count, once per store; without them those grants would no longer authorize anyone. Each
 * key is recounted under its row lock, so grants other nodes create meanwhile stay counted,
 * and a run cut short is simply repeated at the next start.
 */
export async function indexStoredGrants(store: Store): Promise<number> {
  if ((await store.get(INDEXED_MARK)) !== undefined) return 0;
  let indexed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.list('grant/', { limit: INDEX_PAGE, ...(after === undefined ? {} : { after }) });
    const keyIds = new Set(page.map((entry) => entry.key.split('/')[1]!));
    for (const keyId of keyIds) {
      indexed += await store.transaction(async (tx) => {
        await tx.getForUpdate(keyPath(keyId));
        const grants = (await tx.list(grantPrefix(keyId))).map((entry) => JSON.parse(entry.value) as GrantRecord);
        for (const grant of grants) tx.put(granteePath(grant), JSON.stringify(grant));
        tx.put(countPath(keyId), String(grants.length));
        return grants.length;
      });
    }
    if (page.length < INDEX_PAGE) break;
    // The next page starts past every grant of the last key seen, which was indexed whole.
    after = `${grantPrefix(page.at(-1)!.key.split('/')[1]!)}\uffff`;
  }
  await store.transaction((tx) => {
    tx.put(INDEXED_MARK, new Date().toISOString());
  });
  return indexed;
}
