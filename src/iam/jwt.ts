import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** Claims as a token carries them; the verifier checks their types itself. */
export type JwtClaims = Record<string, unknown>;

/** Larger tokens are refused before any decoding: ours are well under 2 KiB. */
const MAX_TOKEN_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** An ES256 signature in JOSE form: r and s, 32 bytes each. */
const SIGNATURE_BYTES = 64;

/** A P-256 key pair that signs tokens, named by its `kid`. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const signingKeyFrom = (kid: string, pkcs8: Buffer): SigningKey => {
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return { kid, privateKey, publicKey: createPublicKey(privateKey) };
};

/** A compact JWS over `claims`, signed ES256 (ECDSA P-256 with SHA-256). */
export function signJwt(claims: JwtClaims, key: SigningKey): string {
  const input = `${encode({ alg: 'ES256', typ: 'JWT', kid: key.kid })}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input, 'ascii'), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The claims of a token signed ES256 by `key`, or undefined for anything else: another
 * algorithm (`none`, HS256 with the public key as secret, ...), another key, a changed byte,
 * a malformed or oversized token. The header must name exactly ES256 and our kid, so the
 * algorithm is never chosen by the token.
 */
export function verifyJwt(token: string, key: SigningKey): JwtClaims | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const head = decode(header);
  if (head?.alg !== 'ES256' || head.kid !== key.kid) return undefined;
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== SIGNATURE_BYTES) return undefined;
  const valid = verify('sha256', Buffer.from(`${header}.${payload}`, 'ascii'), { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, bytes);
  return valid ? decode(payload) : undefined;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function decode(part: string): JwtClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}
