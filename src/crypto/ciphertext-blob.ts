import { IV_LENGTH, TAG_LENGTH, type Sealed } from './aes-gcm.ts';

/**
 * Concord's ciphertext blob, version 1:
 *   u8 version | u8 keyIdLength | keyId (ASCII) | u32 materialVersion | iv(12) | tag(16) | ciphertext
 * The key ID is region-independent (a UUID or an mrk- ID), so a replica in another region
 * and every later material version can find the key and material that made the blob.
 * The header up to the IV is bound as AAD together with the encryption context.
 */
const BLOB_VERSION = 1;

export interface BlobHeader {
  keyId: string;
  materialVersion: number;
}

export interface ParsedBlob extends BlobHeader, Sealed {
  header: Buffer;
}

export function encodeHeader({ keyId, materialVersion }: BlobHeader): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  const header = Buffer.alloc(2 + id.length + 4);
  header.writeUInt8(BLOB_VERSION, 0);
  header.writeUInt8(id.length, 1);
  id.copy(header, 2);
  header.writeUInt32BE(materialVersion, 2 + id.length);
  return header;
}

export function encodeBlob(header: Buffer, sealed: Sealed): Buffer {
  return Buffer.concat([header, sealed.iv, sealed.tag, sealed.ciphertext]);
}

/** Returns undefined for anything that is not a well-formed version 1 blob. */
export function parseBlob(blob: Buffer): ParsedBlob | undefined {
  if (blob.length < 2 || blob[0] !== BLOB_VERSION) return undefined;
  const idLength = blob[1]!;
  const headerLength = 2 + idLength + 4;
  if (idLength === 0 || blob.length < headerLength + IV_LENGTH + TAG_LENGTH) return undefined;
  const keyId = blob.subarray(2, 2 + idLength).toString('ascii');
  if (!/^(mrk-)?[0-9a-f-]+$/.test(keyId)) return undefined;
  const ivStart = headerLength;
  return {
    keyId,
    materialVersion: blob.readUInt32BE(2 + idLength),
    header: blob.subarray(0, headerLength),
    iv: blob.subarray(ivStart, ivStart + IV_LENGTH),
    tag: blob.subarray(ivStart + IV_LENGTH, ivStart + IV_LENGTH + TAG_LENGTH),
    ciphertext: blob.subarray(ivStart + IV_LENGTH + TAG_LENGTH),
  };
}
