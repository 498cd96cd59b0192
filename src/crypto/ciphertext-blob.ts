import { randomFillSync } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt, IV_LENGTH, TAG_LENGTH, type Sealed } from './aes-gcm.ts';
import { canonicalContext, type EncryptionContext } from './encryption-context.ts';
import { hkdfSha256 } from './hkdf-sha256.ts';

/**
 * Concord's ciphertext blob for symmetric keys. Version 2, written:
 *   u8 2 | u8 keyIdLength | keyId (ASCII) | u32 materialVersion | salt(32) | iv(12) | tag(16) | ciphertext
 * Each blob is encrypted (AES-256-GCM) under its own key, HKDF-SHA256 of the key material
 * and a salt drawn for that blob, as AWS KMS does: a key material is then not limited to
 * the 2^32 random IVs GCM allows one key (NIST SP 800-38D). Version 1, still read, has no
 * salt and was encrypted under the key material itself.
 * The key ID is region-independent (a UUID or an mrk- ID), so a replica in another region
 * and every later material version can find the key and material that made the blob. The
 * header (every byte before the IV) is bound as AAD together with the encryption context.
 */
const VERSION_1 = 1;
const VERSION_2 = 2;
const SALT_LENGTH = 32;
const DERIVATION_INFO = Buffer.from('concord ciphertext blob v2');

export interface BlobHeader {
  keyId: string;
  materialVersion: number;
}

export interface ParsedBlob extends BlobHeader, Sealed {
  version: typeof VERSION_1 | typeof VERSION_2;
  /** The bytes bound as AAD before the encryption context. */
  header: Buffer;
  /** Version 2 only. */
  salt?: Buffer;
}

/** A version 2 blob of `plaintext` under the key material, bound to the key, the material version and the context. */
export function sealBlob(material: Buffer, { keyId, materialVersion }: BlobHeader, plaintext: Buffer, context: EncryptionContext | undefined): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  const headerLength = 2 + id.length + 4 + SALT_LENGTH;
  // The header and the IV after it, in one buffer: the salt ends the header, so one draw of randomness makes both.
  const headerAndIv = Buffer.alloc(headerLength + IV_LENGTH);
  headerAndIv.writeUInt8(VERSION_2, 0);
  headerAndIv.writeUInt8(id.length, 1);
  id.copy(headerAndIv, 2);
  headerAndIv.writeUInt32BE(materialVersion, 2 + id.length);
  randomFillSync(headerAndIv, headerLength - SALT_LENGTH, SALT_LENGTH + IV_LENGTH);
  const header = headerAndIv.subarray(0, headerLength);
  const salt = header.subarray(headerLength - SALT_LENGTH);
  const sealed = aesGcmEncrypt(blobKey(material, salt), plaintext, aad(header, context), headerAndIv.subarray(headerLength));
  return Buffer.concat([headerAndIv, sealed.tag, sealed.ciphertext]);
}

/** The plaintext of a parsed blob, or undefined when it does not authenticate under this material and context. */
export function openBlob(material: Buffer, parsed: ParsedBlob, context: EncryptionContext | undefined): Buffer | undefined {
  const key = parsed.salt ? blobKey(material, parsed.salt) : material;
  return aesGcmDecrypt(key, parsed, aad(parsed.header, context));
}

/** Returns undefined for anything that is not a well-formed version 1 or 2 blob. */
export function parseBlob(blob: Buffer): ParsedBlob | undefined {
  const version = blob[0];
  if (blob.length < 2 || (version !== VERSION_1 && version !== VERSION_2)) return undefined;
  const idLength = blob[1]!;
  const saltLength = version === VERSION_2 ? SALT_LENGTH : 0;
  const headerLength = 2 + idLength + 4 + saltLength;
  if (idLength === 0 || blob.length < headerLength + IV_LENGTH + TAG_LENGTH) return undefined;
  const keyId = blob.subarray(2, 2 + idLength).toString('ascii');
  if (!/^(mrk-)?[0-9a-f-]+$/.test(keyId)) return undefined;
  const ivStart = headerLength;
  return {
    version,
    keyId,
    materialVersion: blob.readUInt32BE(2 + idLength),
    header: blob.subarray(0, headerLength),
    ...(saltLength > 0 ? { salt: blob.subarray(headerLength - saltLength, headerLength) } : {}),
    iv: blob.subarray(ivStart, ivStart + IV_LENGTH),
    tag: blob.subarray(ivStart + IV_LENGTH, ivStart + IV_LENGTH + TAG_LENGTH),
    ciphertext: blob.subarray(ivStart + IV_LENGTH + TAG_LENGTH),
  };
}

const blobKey = (material: Buffer, salt: Buffer): Buffer => hkdfSha256(material, salt, DERIVATION_INFO);

/** The header, then the encryption context's canonical form; without a context, the header itself (no copy). */
const aad = (header: Buffer, context: EncryptionContext | undefined): Buffer => (context ? Buffer.concat([header, canonicalContext(context)]) : header);
