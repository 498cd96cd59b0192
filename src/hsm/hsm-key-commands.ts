import { createCipheriv, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { HsmContents, HsmKey, HsmUser } from './hsm-contents.ts';
import { generateSymmetricKey } from './hsm-keys.ts';
import { HsmUserError } from './hsm-users.ts';

/** key_mgmt_util's key types (-t) and classes (-c), and the curves genECCKeyPair -i takes. */
const KEY_TYPES: Readonly<Record<string, number>> = { RSA: 0, EC: 3, GENERIC_SECRET: 16, DES3: 21, AES: 31 };
const KEY_CLASSES: Readonly<Record<string, number>> = { PUBLIC_KEY: 2, PRIVATE_KEY: 3, SECRET_KEY: 4 };
const CURVES: Readonly<Record<number, string>> = { 2: 'prime256v1', 14: 'secp384r1', 15: 'secp521r1', 16: 'secp256k1' };

const officer = (user: HsmUser): boolean => user.type === 'CO' || user.type === 'PCO';

/** A key the user may use: its owner, a user it is shared with, any user for a public key, any crypto officer when `officers`. */
function canUse(key: HsmKey, user: HsmUser, officers = false): boolean {
  return key.owner === user.id || key.sharedWith.includes(user.id) || key.attributes.class === 'PUBLIC_KEY' || (officers && officer(user));
}

/** The key `handle` for `user`; a key it may not use is answered as one that does not exist, so handles of others' keys tell nothing. */
export function usableKey(contents: HsmContents, user: HsmUser, handle: number, officers = false): HsmKey {
  const key = contents.keys.find((k) => k.handle === handle);
  if (!key || !canUse(key, user, officers)) throw new HsmUserError(`key handle ${handle} does not exist or is not usable by ${user.name}`);
  return key;
}

const cryptoUser = (user: HsmUser): void => {
  if (user.type !== 'CU') throw new HsmUserError('only a crypto user manages keys');
};

/** genSymKey, with -id and -u (shared with crypto users at creation). */
export function genSymKey(
  contents: HsmContents,
  user: HsmUser,
  options: { type: number; bytes: number; label: string; id?: string; extractable?: boolean; shareWith?: number[] },
): number {
  const key = generateSymmetricKey(contents, user, options);
  if (options.id !== undefined) key.attributes.id = options.id;
  shareAtCreation(contents, key, options.shareWith);
  return key.handle;
}

function shareAtCreation(contents: HsmContents, key: HsmKey, userIds: number[] = []): void {
  for (const id of userIds) {
    const other = contents.users.find((u) => u.id === id);
    if (other?.type !== 'CU' || id === key.owner) throw new HsmUserError(`user ${id} is not another crypto user`);
  }
  key.sharedWith = [...new Set(userIds)];
}

/** genRSAKeyPair and genECCKeyPair: a public key every crypto user may use, and a private key its maker owns. */
export function genKeyPair(
  contents: HsmContents,
  user: HsmUser,
  options: { kind: 'RSA' | 'EC'; modulusBits?: number; publicExponent?: number; curve?: number; label: string; id?: string; extractable?: boolean },
): { publicHandle: number; privateHandle: number } {
  cryptoUser(user);
  let pair: { publicKey: Buffer; privateKey: Buffer };
  const extra: Record<string, number | string> = {};
  if (options.kind === 'RSA') {
    const bits = options.modulusBits ?? 0;
    const exponent = options.publicExponent ?? 65537;
    if (!Number.isInteger(bits) || bits < 2048 || bits > 4096 || bits % 256 !== 0)
      throw new HsmUserError('the modulus has 2048 to 4096 bits, a multiple of 256');
    if (!Number.isInteger(exponent) || exponent < 65537 || exponent % 2 === 0) throw new HsmUserError('the public exponent is an odd number of at least 65537');
    pair = generateKeyPairSync('rsa', {
      modulusLength: bits,
      publicExponent: exponent,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    Object.assign(extra, { modulusBits: bits, publicExponent: exponent });
  } else {
    const curve = CURVES[options.curve ?? 0];
    if (curve === undefined) throw new HsmUserError(`curve ${options.curve ?? ''} is not supported (2 P-256, 14 P-384, 15 P-521, 16 secp256k1)`);
    pair = generateKeyPairSync('ec', {
      namedCurve: curve,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    extra.curve = curve;
  }
  const base = { label: options.label, keyType: options.kind, token: true, ...extra, ...(options.id !== undefined ? { id: options.id } : {}) };
  const make = (keyClass: string, material: Buffer, extractable: boolean): number => {
    const handle = contents.nextHandle++;
    contents.keys.push({
      handle,
      origin: randomUUID(),
      owner: user.id,
      sharedWith: [],
      attributes: { ...base, class: keyClass, extractable },
      material: material.toString('base64'),
    });
    return handle;
  };
  const publicHandle = make('PUBLIC_KEY', pair.publicKey, true);
  return { publicHandle, privateHandle: make('PRIVATE_KEY', pair.privateKey, options.extractable ?? true) };
}

/** findKey: the handles the user may use that match every filter given, in handle order; -u keeps those the listed users may also use. */
export function findKeys(
  contents: HsmContents,
  user: HsmUser,
  filters: { type?: number; class?: number; label?: string; id?: string; users?: number[] },
): number[] {
  cryptoUser(user);
  const others = (filters.users ?? []).map((id) => {
    const other = contents.users.find((u) => u.id === id);
    if (!other) throw new HsmUserError(`user ${id} does not exist`);
    return other;
  });
  return contents.keys
    .filter(
      (key) =>
        canUse(key, user) &&
        others.every((other) => canUse(key, other)) &&
        (filters.type === undefined || KEY_TYPES[String(key.attributes.keyType)] === filters.type) &&
        (filters.class === undefined || KEY_CLASSES[String(key.attributes.class)] === filters.class) &&
        (filters.label === undefined || key.attributes.label === filters.label) &&
        (filters.id === undefined || key.attributes.id === filters.id),
    )
    .map((key) => key.handle)
    .sort((a, b) => a - b);
}

/** deleteKey: only the owner deletes a key. */
export function deleteKey(contents: HsmContents, user: HsmUser, handle: number): void {
  cryptoUser(user);
  const key = usableKey(contents, user, handle);
  if (key.owner !== user.id) throw new HsmUserError(`only the owner of key ${handle} deletes it`);
  contents.keys = contents.keys.filter((k) => k !== key);
}

/** getKeyInfo: owner and sharing of a key the user owns or shares (a crypto officer: any key). */
export function keyInfo(contents: HsmContents, user: HsmUser, handle: number): { token: boolean; owner: number; sharedWith: number[] } {
  const key = usableKey(contents, user, handle, true);
  return { token: key.attributes.token !== false, owner: key.owner, sharedWith: [...key.sharedWith] };
}

/** An attribute as getAttribute writes it: a flag or small code (0x01), a 32-bit number (0x00000020), text, or bytes in hex. */
export interface KeyAttribute {
  id: number;
  name: string;
  kind: 'byte' | 'int' | 'text' | 'hex';
  value: string | number;
}

/**
 * The attributes of a key, in the order getAttribute -a 512 writes them. The key check value
 * is AWS's: the first 3 bytes of a zero block encrypted with a symmetric key, of the SHA-1 of
 * the public key of a pair; a generic secret has none.
 */
export function keyAttributes(contents: HsmContents, user: HsmUser, handle: number): KeyAttribute[] {
  cryptoUser(user);
  const key = usableKey(contents, user, handle);
  const a = key.attributes;
  const symmetric = a.class === 'SECRET_KEY';
  const isPrivate = a.class === 'PRIVATE_KEY';
  const flag = (id: number, name: string, on: boolean): KeyAttribute => ({ id, name, kind: 'byte', value: on ? 1 : 0 });
  const list: KeyAttribute[] = [
    { id: 0, name: 'OBJ_ATTR_CLASS', kind: 'byte', value: KEY_CLASSES[String(a.class)] ?? 0 },
    { id: 256, name: 'OBJ_ATTR_KEY_TYPE', kind: 'byte', value: KEY_TYPES[String(a.keyType)] ?? 0 },
    flag(1, 'OBJ_ATTR_TOKEN', a.token !== false),
    flag(2, 'OBJ_ATTR_PRIVATE', true),
    flag(260, 'OBJ_ATTR_ENCRYPT', symmetric || a.class === 'PUBLIC_KEY'),
    flag(261, 'OBJ_ATTR_DECRYPT', symmetric || isPrivate),
    flag(262, 'OBJ_ATTR_WRAP', symmetric || a.class === 'PUBLIC_KEY'),
    flag(263, 'OBJ_ATTR_UNWRAP', symmetric || isPrivate),
    flag(264, 'OBJ_ATTR_SIGN', isPrivate),
    flag(266, 'OBJ_ATTR_VERIFY', a.class === 'PUBLIC_KEY'),
    flag(355, 'OBJ_ATTR_LOCAL', true),
    flag(259, 'OBJ_ATTR_SENSITIVE', a.class !== 'PUBLIC_KEY'),
    flag(354, 'OBJ_ATTR_EXTRACTABLE', a.extractable !== false),
    { id: 3, name: 'OBJ_ATTR_LABEL', kind: 'text', value: String(a.label ?? '') },
  ];
  if (a.id !== undefined) list.push({ id: 258, name: 'OBJ_ATTR_ID', kind: 'text', value: String(a.id) });
  if (symmetric) list.push({ id: 353, name: 'OBJ_ATTR_VALUE_LEN', kind: 'int', value: Number(a.valueLen) });
  const der = Buffer.from(key.material, 'base64');
  const publicKey = symmetric
    ? undefined
    : createPublicKey(isPrivate ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : { key: der, format: 'der', type: 'spki' });
  if (a.keyType === 'RSA' && publicKey) {
    const jwk = publicKey.export({ format: 'jwk' });
    list.push({ id: 288, name: 'OBJ_ATTR_MODULUS', kind: 'hex', value: Buffer.from(jwk.n!, 'base64url').toString('hex') });
    list.push({ id: 289, name: 'OBJ_ATTR_MODULUS_BITS', kind: 'int', value: Number(a.modulusBits) });
    list.push({ id: 290, name: 'OBJ_ATTR_PUBLIC_EXPONENT', kind: 'int', value: Number(a.publicExponent) });
  }
  const kcv = checkValue(key, publicKey?.export({ type: 'spki', format: 'der' }));
  if (kcv !== undefined) list.push({ id: 371, name: 'OBJ_ATTR_KCV', kind: 'hex', value: kcv });
  return list;
}

function checkValue(key: HsmKey, publicDer: Buffer | undefined): string | undefined {
  if (publicDer) return createHash('sha1').update(publicDer).digest('hex').slice(0, 6);
  const material = Buffer.from(key.material, 'base64');
  const cipher = key.attributes.keyType === 'AES' ? `aes-${material.length * 8}-ecb` : key.attributes.keyType === 'DES3' ? 'des-ede3' : undefined;
  if (cipher === undefined) return undefined;
  const encrypt = createCipheriv(cipher, material, null).setAutoPadding(false);
  return Buffer.concat([encrypt.update(Buffer.alloc(key.attributes.keyType === 'AES' ? 16 : 8)), encrypt.final()])
    .toString('hex')
    .slice(0, 6);
}
