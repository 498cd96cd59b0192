import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/index.ts';
import { CryptoUnitError } from './unit-error.ts';

/**
 * An administrator signature key on disk: P-256, the private key sealed under a password
 * (scrypt, AES-256-GCM). `concord tke` keeps them in its workspace; a region that runs the
 * ceremony itself (`concord dev`, `cryptoUnits.administrators`) signs with one.
 */
export interface SigkeyFile {
  version: 1;
  name: string;
  /** Base64 SPKI DER. */
  publicKey: string;
  scrypt: { salt: string; N: number; r: number; p: number };
  iv: string;
  tag: string;
  ciphertext: string;
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
const MAXMEM = 128 * SCRYPT.N * SCRYPT.r * 2;

const passwordKey = (password: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer =>
  scryptSync(password.normalize('NFC'), salt, 32, { ...params, maxmem: MAXMEM });

const aadOf = (name: string, publicKey: string): Buffer => Buffer.from(`concord tke signature key|${name}|${publicKey}`);

export function createSigkey(name: string, password: string): SigkeyFile {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
  const salt = randomBytes(16);
  const sealed = aesGcmEncrypt(passwordKey(password, salt, SCRYPT), privateKey.export({ format: 'der', type: 'pkcs8' }), aadOf(name, publicKey));
  return {
    version: 1,
    name,
    publicKey,
    scrypt: { salt: salt.toString('base64'), ...SCRYPT },
    iv: sealed.iv.toString('base64'),
    tag: sealed.tag.toString('base64'),
    ciphertext: sealed.ciphertext.toString('base64'),
  };
}

export function openSigkey(file: SigkeyFile, password: string): KeyObject {
  const { salt, ...params } = file.scrypt;
  const der = aesGcmDecrypt(
    passwordKey(password, Buffer.from(salt, 'base64'), params),
    { iv: Buffer.from(file.iv, 'base64'), tag: Buffer.from(file.tag, 'base64'), ciphertext: Buffer.from(file.ciphertext, 'base64') },
    aadOf(file.name, file.publicKey),
  );
  if (!der) throw new CryptoUnitError('InvalidRequest', `Wrong password for signature key '${file.name}'.`);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export function readSigkey(path: string): SigkeyFile {
  let file: Partial<SigkeyFile>;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as Partial<SigkeyFile>;
  } catch (error) {
    throw new CryptoUnitError('InvalidRequest', `Cannot read signature key file ${path}: ${(error as Error).message}`);
  }
  if (file.version !== 1 || typeof file.name !== 'string' || typeof file.publicKey !== 'string' || !file.scrypt || !file.ciphertext) {
    throw new CryptoUnitError('InvalidRequest', `${path} is not a signature key file made by 'concord tke sigkey-add'.`);
  }
  return file as SigkeyFile;
}
