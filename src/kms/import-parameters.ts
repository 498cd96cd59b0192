import { randomBytes } from 'node:crypto';
import type { WrappedRecords } from '../cryptounits/index.ts';
import { KmsError } from '../errors/index.ts';
import { generateKeyPairDer } from './key-material.ts';
import { timeIndexPath, timeIndexTime } from './key-record.ts';
import type { RegionContext } from './region-context.ts';

/** A public key and import token stay valid this long, as in AWS. */
const IMPORT_PARAMETERS_VALID_MS = 24 * 60 * 60 * 1000;
const TOKEN_ID_BYTES = 16;
const PURGE_BATCH = 500;

/** What the store keeps for one GetParametersForImport answer; the private key only wrapped. */
interface ImportParametersRecord {
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** Base64 of the PKCS#8 private key wrapped under the region master key. */
  privateKey: string;
}

/** Ordered by expiry, so expired parameters are purged without a scan. */
const importPath = (validTo: number, keyId: string, tokenId: string): string => timeIndexPath('import', validTo, `${keyId}/${tokenId}`);

const tokenAad = (keyId: string): Buffer => Buffer.from(`concord import token|${keyId}`);
const privateKeyAad = (keyId: string, tokenId: string): Buffer => Buffer.from(`concord import wrapping key|${keyId}|${tokenId}`);

/**
 * Creates a wrapping key pair for importing material into a key. The import token is the
 * token ID and its expiry sealed under the master key with the key ID as AAD, so only this
 * region can read it and only for this key.
 */
export async function issueImportParameters(
  ctx: RegionContext,
  keyId: string,
  wrappingAlgorithm: string,
  wrappingKeySpec: string,
): Promise<{ importToken: Buffer; publicKey: Buffer; validTo: number }> {
  const { privateKey, publicKey } = await generateKeyPairDer(wrappingKeySpec);
  const tokenId = randomBytes(TOKEN_ID_BYTES);
  const validTo = ctx.now() + IMPORT_PARAMETERS_VALID_MS;
  const record: ImportParametersRecord = {
    wrappingAlgorithm,
    wrappingKeySpec,
    privateKey: (await ctx.unit.wrap(privateKey, privateKeyAad(keyId, tokenId.toString('hex')))).toString('base64'),
  };
  await ctx.store.transaction(async (tx) => tx.create(importPath(validTo, keyId, tokenId.toString('hex')), JSON.stringify(record)));
  const sealed = Buffer.alloc(TOKEN_ID_BYTES + 8);
  tokenId.copy(sealed);
  sealed.writeBigUInt64BE(BigInt(validTo), TOKEN_ID_BYTES);
  return { importToken: await ctx.unit.wrap(sealed, tokenAad(keyId)), publicKey, validTo };
}

/** The wrapping algorithm and private key behind an import token issued for this key. */
export async function openImportToken(ctx: RegionContext, keyId: string, importToken: Buffer): Promise<{ wrappingAlgorithm: string; privateKey: Buffer }> {
  // Any token this region did not seal for this key fails to unwrap, whatever the reason.
  const sealed = await ctx.unit.unwrap(importToken, tokenAad(keyId)).catch(() => undefined);
  if (sealed?.length !== TOKEN_ID_BYTES + 8) throw invalidToken();
  const tokenId = sealed.subarray(0, TOKEN_ID_BYTES).toString('hex');
  const validTo = Number(sealed.readBigUInt64BE(TOKEN_ID_BYTES));
  if (validTo <= ctx.now()) {
    throw new KmsError('ExpiredImportTokenException', 'The import token has expired. Call GetParametersForImport for a new public key and import token.');
  }
  const raw = await ctx.store.get(importPath(validTo, keyId, tokenId));
  if (!raw) throw invalidToken();
  const record = JSON.parse(raw) as ImportParametersRecord;
  return {
    wrappingAlgorithm: record.wrappingAlgorithm,
    privateKey: await ctx.unit.unwrap(Buffer.from(record.privateKey, 'base64'), privateKeyAad(keyId, tokenId)),
  };
}

/** Background work: forgets wrapping keys whose import token has expired. */
export async function purgeExpiredImportParameters(ctx: RegionContext): Promise<number> {
  const entries = await ctx.store.list('import/', { limit: PURGE_BATCH });
  const expired = entries.filter((entry) => timeIndexTime(entry.key) <= ctx.now());
  if (expired.length > 0) await ctx.store.transaction(async (tx) => expired.forEach((entry) => tx.delete(entry.key)));
  return expired.length;
}

const invalidToken = (): KmsError =>
  new KmsError('InvalidImportTokenException', 'The import token is invalid or belongs to a different KMS key.');

/** The wrapping keys' private halves, for a master key rotation to re-wrap (import tokens held by callers cannot be). */
export const importParametersRecords: WrappedRecords = {
  prefix: 'import/',
  async rewrap(value, reseal, key) {
    const [, , keyId, tokenId] = key.split('/');
    const record = JSON.parse(value) as ImportParametersRecord;
    const privateKey = await reseal(Buffer.from(record.privateKey, 'base64'), privateKeyAad(keyId!, tokenId!));
    return JSON.stringify({ ...record, privateKey: privateKey.toString('base64') });
  },
};
