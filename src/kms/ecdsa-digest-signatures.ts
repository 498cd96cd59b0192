import { createECDH, randomBytes, type KeyObject } from 'node:crypto';

/**
 * ECDSA over a digest the caller computed (MessageType DIGEST, SEC 1 §4.1). Node signs only
 * messages it hashes itself, so the scalar arithmetic is done here. The secret nonce point
 * k·G comes from OpenSSL (an ephemeral ECDH key); BigInt arithmetic is not constant-time, so
 * the nonce inversion, its leakiest step, is blinded. Point arithmetic here touches public
 * values only (verification).
 */
interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  size: number;
  nBits: number;
}

const CURVES: Record<string, Curve> = {
  prime256v1: curve('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', -3n, 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  secp384r1: curve(
    'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff',
    -3n,
    'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
  ),
  secp521r1: curve(
    '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    -3n,
    '01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
  ),
  secp256k1: curve('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 0n, 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'),
};

function curve(p: string, a: bigint, n: string): Curve {
  const prime = BigInt(`0x${p}`);
  const order = BigInt(`0x${n}`);
  return { p: prime, a: mod(a, prime), n: order, size: Math.ceil(prime.toString(2).length / 8), nBits: order.toString(2).length };
}

/** The curve's order and field, for the curve of `key` (Node's curve names). */
export function curveOf(key: KeyObject): Curve & { name: string } {
  const name = key.asymmetricKeyDetails!.namedCurve!;
  return { name, ...CURVES[name]! };
}

export function ecdsaSignDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const c = curveOf(privateKey);
  const d = toBigInt(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const z = digestScalar(digest, c);
  for (;;) {
    const nonce = createECDH(c.name);
    nonce.generateKeys();
    const k = toBigInt(nonce.getPrivateKey());
    const r = mod(toBigInt(nonce.getPublicKey().subarray(1, 1 + c.size)), c.n);
    const blind = randomScalar(c.n);
    const s = mod(invert(mod(k * blind, c.n), c.n) * mod(blind * mod(z + r * d, c.n), c.n), c.n);
    if (r !== 0n && s !== 0n) return encodeSignature(r, s);
  }
}

export function ecdsaVerifyDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const c = curveOf(publicKey);
  const decoded = decodeSignature(signature);
  if (!decoded) return false;
  const { r, s } = decoded;
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const jwk = publicKey.export({ format: 'jwk' });
  const q: Point = [toBigInt(Buffer.from(jwk.x!, 'base64url')), toBigInt(Buffer.from(jwk.y!, 'base64url')), 1n];
  const w = invert(s, c.n);
  const sum = add(c, multiply(c, generator(c.name), mod(digestScalar(digest, c) * w, c.n)), multiply(c, q, mod(r * w, c.n)));
  if (sum[2] === 0n) return false;
  const zInverse = invert(sum[2], c.p);
  return mod(mod(sum[0] * zInverse * zInverse, c.p), c.n) === r;
}

/** The leftmost nBits of the digest as an integer (SEC 1 §4.1.3 step 5). */
function digestScalar(digest: Buffer, c: Curve): bigint {
  const e = toBigInt(digest);
  const excess = digest.length * 8 - c.nBits;
  return excess > 0 ? e >> BigInt(excess) : e;
}

/** Jacobian coordinates (X, Y, Z); Z = 0 is the point at infinity. Used only on public values. */
type Point = [bigint, bigint, bigint];

const generators = new Map<string, Point>();

/** The base point, read from OpenSSL as the public key of the private scalar 1. */
function generator(name: string): Point {
  let g = generators.get(name);
  if (!g) {
    const c = CURVES[name]!;
    const one = createECDH(name);
    one.setPrivateKey(Buffer.concat([Buffer.alloc(c.size - 1), Buffer.from([1])]));
    const encoded = one.getPublicKey();
    g = [toBigInt(encoded.subarray(1, 1 + c.size)), toBigInt(encoded.subarray(1 + c.size)), 1n];
    generators.set(name, g);
  }
  return g;
}

function double(c: Curve, [x, y, z]: Point): Point {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  const yy = mod(y * y, c.p);
  const zz = mod(z * z, c.p);
  const s = mod(4n * x * yy, c.p);
  const m = mod(3n * x * x + c.a * zz * zz, c.p);
  const x3 = mod(m * m - 2n * s, c.p);
  return [x3, mod(m * (s - x3) - 8n * yy * yy, c.p), mod(2n * y * z, c.p)];
}

function add(c: Curve, p1: Point, p2: Point): Point {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const z1z1 = mod(p1[2] * p1[2], c.p);
  const z2z2 = mod(p2[2] * p2[2], c.p);
  const u1 = mod(p1[0] * z2z2, c.p);
  const u2 = mod(p2[0] * z1z1, c.p);
  const s1 = mod(p1[1] * z2z2 * p2[2], c.p);
  const s2 = mod(p2[1] * z1z1 * p1[2], c.p);
  if (u1 === u2) return s1 === s2 ? double(c, p1) : [0n, 1n, 0n];
  const h = mod(u2 - u1, c.p);
  const r = mod(s2 - s1, c.p);
  const hh = mod(h * h, c.p);
  const hhh = mod(hh * h, c.p);
  const x3 = mod(r * r - hhh - 2n * u1 * hh, c.p);
  return [x3, mod(r * (u1 * hh - x3) - s1 * hhh, c.p), mod(h * p1[2] * p2[2], c.p)];
}

function multiply(c: Curve, point: Point, scalar: bigint): Point {
  let result: Point = [0n, 1n, 0n];
  for (const bit of scalar.toString(2)) {
    result = double(c, result);
    if (bit === '1') result = add(c, result, point);
  }
  return result;
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }`, the signature form AWS returns and node:crypto verifies. */
function encodeSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), length, body]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

function decodeSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  if (der[0] !== 0x30) return undefined;
  let offset = 2;
  let length = der[1] ?? 0;
  if (length === 0x81) {
    length = der[2] ?? 0;
    offset = 3;
  }
  if (offset + length !== der.length) return undefined;
  const values: bigint[] = [];
  while (offset < der.length) {
    const size = der[offset + 1];
    if (der[offset] !== 0x02 || size === undefined || size === 0 || offset + 2 + size > der.length) return undefined;
    const bytes = der.subarray(offset + 2, offset + 2 + size);
    if (bytes[0]! & 0x80) return undefined;
    values.push(toBigInt(bytes));
    offset += 2 + size;
  }
  return values.length === 2 ? { r: values[0]!, s: values[1]! } : undefined;
}

function randomScalar(n: bigint): bigint {
  for (;;) {
    const candidate = mod(toBigInt(randomBytes(Math.ceil(n.toString(2).length / 8) + 8)), n);
    if (candidate !== 0n) return candidate;
  }
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`));

function mod(value: bigint, modulus: bigint): bigint {
  const result = value % modulus;
  return result < 0n ? result + modulus : result;
}

/** Modular inverse by the extended Euclidean algorithm (the modulus is prime). */
function invert(value: bigint, modulus: bigint): bigint {
  let [oldR, r] = [mod(value, modulus), modulus];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, modulus);
}
