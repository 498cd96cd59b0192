import { constants, createHash, privateEncrypt, publicDecrypt, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1) that PKCS#1 v1.5 signs in front of the digest. */
const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/**
 * RSA signatures over a digest the caller computed (MessageType DIGEST). Node signs only
 * messages it hashes itself, so the encodings are built here and the RSA operation, with
 * OpenSSL's blinding, stays in node:crypto.
 */
export function pkcs1SignDigest(privateKey: KeyObject, hash: string, digest: Buffer): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[hash]!, digest]));
}

export function pkcs1VerifyDigest(publicKey: KeyObject, hash: string, digest: Buffer, signature: Buffer): boolean {
  const recovered = rsaPublic(publicKey, signature, constants.RSA_PKCS1_PADDING);
  const expected = Buffer.concat([DIGEST_INFO[hash]!, digest]);
  return recovered !== undefined && recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

/** RSASSA-PSS (RFC 8017 §9.1) with MGF1 over the same hash and a salt as long as the digest, as AWS signs. */
export function pssSignDigest(privateKey: KeyObject, hash: string, digest: Buffer): Buffer {
  const modulusBits = privateKey.asymmetricKeyDetails!.modulusLength!;
  const emBits = modulusBits - 1;
  const emLength = Math.ceil(emBits / 8);
  const salt = randomBytes(digest.length);
  const h = pssHash(hash, digest, salt);
  const db = Buffer.alloc(emLength - digest.length - 1);
  db[db.length - salt.length - 1] = 0x01;
  salt.copy(db, db.length - salt.length);
  const maskedDb = xor(db, mgf1(hash, h, db.length));
  maskedDb[0]! &= 0xff >> (8 * emLength - emBits);
  const em = Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
  const k = Math.ceil(modulusBits / 8);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.alloc(k - emLength), em]));
}

export function pssVerifyDigest(publicKey: KeyObject, hash: string, digest: Buffer, signature: Buffer): boolean {
  const modulusBits = publicKey.asymmetricKeyDetails!.modulusLength!;
  const k = Math.ceil(modulusBits / 8);
  if (signature.length !== k) return false;
  const recovered = rsaPublic(publicKey, signature, constants.RSA_NO_PADDING);
  if (!recovered || recovered.length !== k) return false;
  const emBits = modulusBits - 1;
  const emLength = Math.ceil(emBits / 8);
  if (recovered.subarray(0, k - emLength).some((byte) => byte !== 0)) return false;
  const em = recovered.subarray(k - emLength);
  const hLength = digest.length;
  if (em[emLength - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLength - hLength - 1);
  const h = em.subarray(emLength - hLength - 1, emLength - 1);
  const topMask = 0xff >> (8 * emLength - emBits);
  if ((maskedDb[0]! & ~topMask) !== 0) return false;
  const db = xor(maskedDb, mgf1(hash, h, maskedDb.length));
  db[0]! &= topMask;
  const separator = db.length - hLength - 1;
  if (db.subarray(0, separator).some((byte) => byte !== 0) || db[separator] !== 0x01) return false;
  return timingSafeEqual(pssHash(hash, digest, db.subarray(separator + 1)), h);
}

const pssHash = (hash: string, digest: Buffer, salt: Buffer): Buffer => createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();

function mgf1(hash: string, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0, produced = 0; produced < length; counter += 1) {
    const block = createHash(hash)
      .update(seed)
      .update(Buffer.from([counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff]))
      .digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i += 1) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** The public RSA operation, or undefined when the signature is out of range or badly padded. */
function rsaPublic(publicKey: KeyObject, signature: Buffer, padding: number): Buffer | undefined {
  try {
    return publicDecrypt({ key: publicKey, padding }, signature);
  } catch {
    return undefined;
  }
}
