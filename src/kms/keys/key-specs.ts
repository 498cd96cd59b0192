import type { EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeyMetadata, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec } from '../kms-api.ts';

/**
 * Key specs Concord can create, with the usages and algorithms AWS documents for each.
 * Adding a spec is adding data here and its operations in the crypto code.
 */
export interface KeySpecInfo {
  usages: readonly KeyUsageType[];
  /** How CreateKey makes the material: raw bytes, or a private key stored as PKCS#8 DER. */
  material: KeyMaterialKind;
  encryptionAlgorithms?: readonly EncryptionAlgorithmSpec[];
  signingAlgorithms?: readonly SigningAlgorithmSpec[];
  macAlgorithms?: readonly MacAlgorithmSpec[];
  keyAgreementAlgorithms?: readonly KeyAgreementAlgorithmSpec[];
}

export type KeyMaterialKind =
  | { kind: 'symmetric'; bytes: number }
  | { kind: 'hmac'; bytes: number; hash: string }
  | { kind: 'rsa'; modulusBits: number }
  | { kind: 'ec'; curve: string }
  | { kind: 'ed25519' };

const RSA_ENCRYPTION: EncryptionAlgorithmSpec[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
const RSA_SIGNING: SigningAlgorithmSpec[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];
const rsa = (modulusBits: number): KeySpecInfo => ({
  usages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  material: { kind: 'rsa', modulusBits },
  encryptionAlgorithms: RSA_ENCRYPTION,
  signingAlgorithms: RSA_SIGNING,
});
const nistCurve = (curve: string, signingAlgorithm: SigningAlgorithmSpec): KeySpecInfo => ({
  usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  material: { kind: 'ec', curve },
  signingAlgorithms: [signingAlgorithm],
  keyAgreementAlgorithms: ['ECDH'],
});
const hmac = (bits: 224 | 256 | 384 | 512): KeySpecInfo => ({
  usages: ['GENERATE_VERIFY_MAC'],
  material: { kind: 'hmac', bytes: bits / 8, hash: `sha${bits}` },
  macAlgorithms: [`HMAC_SHA_${bits}`],
});

export const keySpecs: Readonly<Record<string, KeySpecInfo>> = {
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], material: { kind: 'symmetric', bytes: 32 }, encryptionAlgorithms: ['SYMMETRIC_DEFAULT'] },
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: nistCurve('prime256v1', 'ECDSA_SHA_256'),
  ECC_NIST_P384: nistCurve('secp384r1', 'ECDSA_SHA_384'),
  ECC_NIST_P521: nistCurve('secp521r1', 'ECDSA_SHA_512'),
  ECC_SECG_P256K1: { usages: ['SIGN_VERIFY'], material: { kind: 'ec', curve: 'secp256k1' }, signingAlgorithms: ['ECDSA_SHA_256'] },
  ECC_NIST_EDWARDS25519: { usages: ['SIGN_VERIFY'], material: { kind: 'ed25519' }, signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] },
  HMAC_224: hmac(224),
  HMAC_256: hmac(256),
  HMAC_384: hmac(384),
  HMAC_512: hmac(512),
};

type AlgorithmsMember = 'EncryptionAlgorithms' | 'SigningAlgorithms' | 'MacAlgorithms' | 'KeyAgreementAlgorithms';

const ALGORITHMS_BY_USAGE: Record<string, { member: AlgorithmsMember; field: keyof KeySpecInfo }> = {
  ENCRYPT_DECRYPT: { member: 'EncryptionAlgorithms', field: 'encryptionAlgorithms' },
  SIGN_VERIFY: { member: 'SigningAlgorithms', field: 'signingAlgorithms' },
  GENERATE_VERIFY_MAC: { member: 'MacAlgorithms', field: 'macAlgorithms' },
  KEY_AGREEMENT: { member: 'KeyAgreementAlgorithms', field: 'keyAgreementAlgorithms' },
};

/** The algorithms a key of this spec and usage supports, keyed by AWS's member name (e.g. SigningAlgorithms). */
export function keyAlgorithms(keySpec: string, keyUsage: string): Pick<KeyMetadata, AlgorithmsMember> {
  const usage = ALGORITHMS_BY_USAGE[keyUsage];
  const list = usage ? (keySpecs[keySpec]?.[usage.field] as readonly string[] | undefined) : undefined;
  return usage && list ? { [usage.member]: [...list] } : {};
}

/** The algorithms a key of this spec and usage accepts for its cryptographic operations: the spec's own list, not a copy (every Encrypt and Decrypt asks). */
export function algorithmsOf(keySpec: string, keyUsage: string): readonly string[] {
  const usage = ALGORITHMS_BY_USAGE[keyUsage];
  return (usage && (keySpecs[keySpec]?.[usage.field] as readonly string[] | undefined)) ?? [];
}

export const isSymmetric = (keySpec: string): boolean => keySpec === 'SYMMETRIC_DEFAULT';
