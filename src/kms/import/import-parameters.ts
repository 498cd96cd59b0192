import { createHash, randomBytes } from 'node:crypto';
import type { WrappedRecords } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import { purgeTimeIndex, timeIndexPath } from '../../store/index.ts';
import { generateKeyPairDer, readyKeyPairDer, type KeyPairDer } from '../keys/index.ts';
import type { RegionContext } from '../region-context.ts';

/** A public key and import token stay valid this long, as in AWS. */
const IMPORT_PARAMETERS_VALID_MS = 24 * 60 * 60 * 1000;
const TOKEN_SECRET_BYTES = 32;
const TOKEN_BYTES = TOKEN_SECRET_BYTES + 8;

/** What the store keeps for one GetParametersForImport answer; the private key only wrapped. */
interface ImportParametersRecord {
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** Base64 of the PKCS#8 private key wrapped under the region master key. */
  privateKey: string;
}

/** Ordered by expiry, so expired parameters are purged without a scan. */
const importPath = (validTo: number, keyId: string, tokenId: string): string => timeIndexPath('import', validTo, `${keyId}/${tokenId}`);

/** What the store knows a token by: its digest, so that reading the store gives no token away. */
const tokenIdOf = (secret: Buffer): string => createHash('sha256').update(secret).digest('hex');

const privateKeyAad = (keyId: string, tokenId: string): Buffer => Buffer.from(`concord import wrapping key|${keyId}|${tokenId}`);

/** How long, and for how many more import tokens, a wrapping key pair may serve its principal again when the pool is empty. */
const SHARED_PAIR_MS = 60_000;
const SHARED_PAIR_TOKENS = 1000;
const recentPairs = new Map<string, { pair: Promise<KeyPairDer>; until: number; left: number }>();

/**
 * The wrapping key pair of one GetParametersForImport: a fresh one from the pool when it has
 * one ready; when a burst has emptied it, the pair last given to the same principal for the
 * same wrapping algorithm and spec in the same region, for up to a minute and a thousand tokens, instead of waiting for
 * a new one (an RSA_2048 pair is most of a second of a loaded core). Each token still names its
 * own record and key, so a token opens only its key's import; material wrapped under a shared
 * public key can be imported only with a token of the same principal, who wrapped it.
 */
function wrappingPair(ctx: RegionContext, principal: string, wrappingAlgorithm: string, keySpec: string): Promise<KeyPairDer> {
  const id = `${ctx.account}|${ctx.region}|${principal}|${wrappingAlgorithm}|${keySpec}`;
  const now = Date.now();
  const ready = readyKeyPairDer(keySpec);
  const recent = recentPairs.get(id);
  if (!ready && recent && recent.until > now && recent.left > 0) {
    recent.left -= 1;
    return recent.pair;
  }
  for (const [other, { until }] of recentPairs) if (until <= now) recentPairs.delete(other);
  const pair = ready ? Promise.resolve(ready) : generateKeyPairDer(keySpec);
  recentPairs.set(id, { pair, until: now + SHARED_PAIR_MS, left: SHARED_PAIR_TOKENS - 1 });
  pair.catch(() => {
    if (recentPairs.get(id)?.pair === pair) recentPairs.delete(id);
  });
  return pair;
}

/**
 * Creates a wrapping key pair for importing material into a key. The import token is a random
 * secret and its expiry; the store keeps the wrapping key under the secret's digest. The token
 * owes nothing to the master key, so it outlives master key rotations, as the wrapped private
 * key does (re-wrapped with everything else).
 */
export async function issueImportParameters(
  ctx: RegionContext,
  keyId: string,
  principal: string,
  wrappingAlgorithm: string,
  wrappingKeySpec: string,
): Promise<{ importToken: Buffer; publicKey: Buffer; validTo: number }> {
  const { privateKey, publicKey } = await wrappingPair(ctx, principal, wrappingAlgorithm, wrappingKeySpec);
  const importToken = Buffer.alloc(TOKEN_BYTES);
  randomBytes(TOKEN_SECRET_BYTES).copy(importToken);
  const tokenId = tokenIdOf(importToken.subarray(0, TOKEN_SECRET_BYTES));
  const validTo = ctx.now() + IMPORT_PARAMETERS_VALID_MS;
  importToken.writeBigUInt64BE(BigInt(validTo), TOKEN_SECRET_BYTES);
  const record: ImportParametersRecord = {
    wrappingAlgorithm,
    wrappingKeySpec,
    privateKey: (await ctx.unit.wrap(privateKey, privateKeyAad(keyId, tokenId))).toString('base64'),
  };
  await ctx.store.transaction(async (tx) => tx.create(importPath(validTo, keyId, tokenId), JSON.stringify(record)));
  return { importToken, publicKey, validTo };
}

/** The wrapping algorithm and private key behind an import token issued for this key. */
export async function openImportToken(ctx: RegionContext, keyId: string, importToken: Buffer): Promise<{ wrappingAlgorithm: string; privateKey: Buffer }> {
  if (importToken.length !== TOKEN_BYTES) throw invalidToken();
  const validTo = Number(importToken.readBigUInt64BE(TOKEN_SECRET_BYTES));
  if (validTo <= ctx.now()) {
    throw new KmsError('ExpiredImportTokenException', 'The import token has expired. Call GetParametersForImport for a new public key and import token.');
  }
  // A token issued for another key, altered, or never issued names no record.
  const tokenId = tokenIdOf(importToken.subarray(0, TOKEN_SECRET_BYTES));
  const raw = await ctx.store.get(importPath(validTo, keyId, tokenId));
  if (!raw) throw invalidToken();
  const record = JSON.parse(raw) as ImportParametersRecord;
  return {
    wrappingAlgorithm: record.wrappingAlgorithm,
    privateKey: await ctx.unit.unwrap(Buffer.from(record.privateKey, 'base64'), privateKeyAad(keyId, tokenId)),
  };
}

/** Background work: forgets wrapping keys whose import token has expired (validTo at or before now). */
export function purgeExpiredImportParameters(ctx: RegionContext): Promise<number> {
  return purgeTimeIndex(ctx.store, 'import', ctx.now() + 1);
}

const invalidToken = (): KmsError => new KmsError('InvalidImportTokenException', 'The import token is invalid or belongs to a different KMS key.');

/** The wrapping keys' private halves, for a master key rotation to re-wrap. */
export const importParametersRecords: WrappedRecords = {
  prefix: 'import/',
  async rewrap(value, reseal, key) {
    const [, , keyId, tokenId] = key.split('/');
    const record = JSON.parse(value) as ImportParametersRecord;
    const privateKey = await reseal(Buffer.from(record.privateKey, 'base64'), privateKeyAad(keyId!, tokenId!));
    return JSON.stringify({ ...record, privateKey: privateKey.toString('base64') });
  },
};
