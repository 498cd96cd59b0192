import { constants, createPrivateKey, createPublicKey, privateDecrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WrappedRecords } from '../cryptounits/index.ts';
import { aesGcmDecrypt, IV_LENGTH, TAG_LENGTH } from '../crypto/index.ts';
import { generateKeyPairDer, type Caller, type KeyService } from '../kms/index.ts';
import { KpError } from './kp-error.ts';

/** Key Protect's limits: a token lives 300 s to 24 h (600 s by default) and may be retrieved 1 to 500 times (once by default). */
const EXPIRATION = { min: 300, max: 86_400, default: 600 } as const;
const RETRIEVALS = { max: 500, default: 1 } as const;
/** Key Protect's nonces are 12 random bytes (16 base64 characters). */
const NONCE_BYTES = 12;
const WRAPPING_KEY_SPEC = 'RSA_4096';
const ENCRYPTION_ALGORITHM = 'RSAES_OAEP_SHA_256';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOKEN_PATH = 'kp/import-token';

/**
 * The instance's import token: an RSA-4096 key pair whose private half is stored only wrapped,
 * and the nonces handed out by retrievals that no import has used yet.
 */
interface ImportTokenRecord {
  id: string;
  creationDate: number;
  expirationDate: number;
  maxAllowedRetrievals: number;
  remainingRetrievals: number;
  /** Base64 of the DER SubjectPublicKeyInfo. */
  publicKey: string;
  /** Base64 of the PKCS#8 private key wrapped under the region's master key. */
  wrappedPrivateKey: string;
  /** Base64 nonces, each good for one import. */
  nonces: string[];
}

/** What POST /import_token answers, and GET /import_token with `payload` and `nonce` besides. */
export interface ImportTokenView {
  creationDate: string;
  expirationDate: string;
  maxAllowedRetrievals: number;
  remainingRetrievals: number;
}

/** A body that brings key material: `payload`, and with an import token `encryptedNonce`, `iv` and `encryptionAlgorithm`. */
export interface MaterialBody {
  payload?: unknown;
  encryptedNonce?: unknown;
  iv?: unknown;
  encryptionAlgorithm?: unknown;
}

const privateKeyAad = (tokenId: string): Buffer => Buffer.from(`concord kp import token|${tokenId}`);

/**
 * Key Protect's import tokens (`/import_token`): one per instance, a new one replacing the last.
 * A retrieval gives the RSA-4096 public key and a fresh nonce; key material comes back
 * RSA-OAEP-SHA-256 encrypted under that key, with the nonce AES-GCM encrypted under the
 * material, which proves the sender holds the material the token was retrieved for. Each nonce
 * is taken once, so an import request replayed is refused. The key pair comes from the key
 * service's RSA pool, so no request waits for an RSA-4096 generation.
 */
export class ImportTokens {
  constructor(private readonly service: KeyService) {}

  /** POST /import_token (kms:GetParametersForImport). */
  async create(who: { caller: Caller }, body: { expiration?: unknown; maxAllowedRetrievals?: unknown }): Promise<ImportTokenView> {
    await this.service.authorizeIdentity(who.caller, 'GetParametersForImport');
    const expiration = integerIn(body.expiration, EXPIRATION.min, EXPIRATION.max, EXPIRATION.default, 'expiration');
    const maxAllowedRetrievals = integerIn(body.maxAllowedRetrievals, 1, RETRIEVALS.max, RETRIEVALS.default, 'maxAllowedRetrievals');
    const { privateKey, publicKey } = await generateKeyPairDer(WRAPPING_KEY_SPEC);
    const id = randomBytes(16).toString('hex');
    const now = this.service.ctx.now();
    const record: ImportTokenRecord = {
      id,
      creationDate: now,
      expirationDate: now + expiration * 1000,
      maxAllowedRetrievals,
      remainingRetrievals: maxAllowedRetrievals,
      publicKey: publicKey.toString('base64'),
      wrappedPrivateKey: (await this.service.ctx.unit.wrap(privateKey, privateKeyAad(id))).toString('base64'),
      nonces: [],
    };
    await this.service.ctx.store.transaction((tx) => {
      tx.put(TOKEN_PATH, JSON.stringify(record));
    });
    return view(record);
  }

  /** GET /import_token (kms:GetParametersForImport): the public key as base64 PEM and a nonce, counted against the token's retrievals. */
  async retrieve(who: { caller: Caller }): Promise<ImportTokenView & { payload: string; nonce: string }> {
    await this.service.authorizeIdentity(who.caller, 'GetParametersForImport');
    const action = 'Import Token could not be retrieved';
    const nonce = randomBytes(NONCE_BYTES).toString('base64');
    const record = await this.service.ctx.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(TOKEN_PATH);
      if (stored === undefined) throw new KpError('NOT_FOUND_ERR', action);
      const current = JSON.parse(stored) as ImportTokenRecord;
      // A token retrieved as often as it allows can no longer be retrieved: Key Protect calls it expired too.
      if (this.expired(current) || current.remainingRetrievals === 0) throw new KpError('IMPORT_TOKEN_EXPIRED_ERR', action);
      const changed = { ...current, remainingRetrievals: current.remainingRetrievals - 1, nonces: [...current.nonces, nonce] };
      tx.put(TOKEN_PATH, JSON.stringify(changed));
      return changed;
    });
    const pem = createPublicKey({ key: Buffer.from(record.publicKey, 'base64'), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' });
    return { ...view(record), payload: Buffer.from(pem).toString('base64'), nonce };
  }

  /**
   * The key material a create or rotate request brings: decrypted with the import token when it
   * carries `encryptedNonce` and `iv` (the nonce then used up), or `payload` as it is, base64 over
   * TLS, as Key Protect also allows. Undefined when the body brings none.
   */
  async material(body: MaterialBody, action: string): Promise<Buffer | undefined> {
    if (body.encryptedNonce === undefined && body.iv === undefined) {
      return body.payload === undefined ? undefined : exactBytes(base64(body.payload, 'payload', action), 32, 'payload', action);
    }
    if (body.encryptionAlgorithm !== undefined && body.encryptionAlgorithm !== ENCRYPTION_ALGORITHM) {
      throw new KpError('BAD_BODY_ERR', action, 'encryptionAlgorithm');
    }
    const encryptedMaterial = base64(body.payload, 'payload', action);
    const encryptedNonce = base64(body.encryptedNonce, 'encryptedNonce', action);
    const iv = base64(body.iv, 'iv', action);
    const stored = await this.service.ctx.store.get(TOKEN_PATH);
    // No token: no record the nonce could match.
    if (stored === undefined) throw new KpError('INCORRECT_NONCE_ERR', action);
    const token = JSON.parse(stored) as ImportTokenRecord;
    if (this.expired(token)) throw new KpError('IMPORT_TOKEN_EXPIRED_ERR', action);
    const privateKey = await this.service.ctx.unit.unwrap(Buffer.from(token.wrappedPrivateKey, 'base64'), privateKeyAad(token.id));
    let material: Buffer;
    try {
      material = privateDecrypt(
        { key: createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        encryptedMaterial,
      );
    } catch {
      throw new KpError('BAD_BODY_ERR', action, 'payload');
    }
    exactBytes(material, 32, 'payload', action);
    if (iv.length !== IV_LENGTH || encryptedNonce.length <= TAG_LENGTH) throw new KpError('INCORRECT_NONCE_IV_ERR', action);
    const nonce = aesGcmDecrypt(
      material,
      { iv, ciphertext: encryptedNonce.subarray(0, -TAG_LENGTH), tag: encryptedNonce.subarray(-TAG_LENGTH) },
      Buffer.alloc(0),
    );
    if (nonce === undefined) throw new KpError('INCORRECT_NONCE_IV_ERR', action);
    await this.takeNonce(token.id, nonce, action);
    return material;
  }

  /** Uses up a nonce of the token, in one transaction, so that two requests cannot both spend it. */
  private async takeNonce(tokenId: string, nonce: Buffer, action: string): Promise<void> {
    await this.service.ctx.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(TOKEN_PATH);
      const token = stored === undefined ? undefined : (JSON.parse(stored) as ImportTokenRecord);
      if (token?.id !== tokenId) throw new KpError('INCORRECT_NONCE_ERR', action);
      const index = token.nonces.findIndex((issued) => {
        const bytes = Buffer.from(issued, 'base64');
        return bytes.length === nonce.length && timingSafeEqual(bytes, nonce);
      });
      if (index < 0) throw new KpError('INCORRECT_NONCE_ERR', action);
      tx.put(TOKEN_PATH, JSON.stringify({ ...token, nonces: token.nonces.filter((_, i) => i !== index) }));
    });
  }

  private expired(token: ImportTokenRecord): boolean {
    return this.service.ctx.now() >= token.expirationDate;
  }
}

/** The import token's wrapped private key, for a master key rotation to re-wrap. */
export const importTokenRecords: WrappedRecords = {
  prefix: TOKEN_PATH,
  async rewrap(value, reseal) {
    const record = JSON.parse(value) as ImportTokenRecord;
    const wrapped = await reseal(Buffer.from(record.wrappedPrivateKey, 'base64'), privateKeyAad(record.id));
    return JSON.stringify({ ...record, wrappedPrivateKey: wrapped.toString('base64') });
  },
};

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const view = (record: ImportTokenRecord): ImportTokenView => ({
  creationDate: iso(record.creationDate),
  expirationDate: iso(record.expirationDate),
  maxAllowedRetrievals: record.maxAllowedRetrievals,
  remainingRetrievals: record.remainingRetrievals,
});

function integerIn(value: unknown, min: number, max: number, fallback: number, member: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new KpError('BAD_BODY_ERR', 'Import token could not be created', member);
  }
  return value;
}

function base64(value: unknown, member: string, action: string): Buffer {
  if (typeof value !== 'string' || value.length === 0 || value.length % 4 !== 0 || value.length > 8192 || !BASE64.test(value)) {
    throw new KpError('BAD_BODY_ERR', action, member);
  }
  return Buffer.from(value, 'base64');
}

function exactBytes(bytes: Buffer, length: number, member: string, action: string): Buffer {
  if (bytes.length !== length) throw new KpError('BAD_BODY_ERR', action, member);
  return bytes;
}
