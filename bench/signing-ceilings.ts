import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/**
 * Bare node:crypto ceilings for Sign and GenerateMac: a key parsed once, then per request
 * only base64, the signature or MAC, and JSON.
 */
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001';
const ecKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const macKey = randomBytes(32);

/** The members of a KMS request the ceilings read. */
export interface CeilingInput {
  Plaintext: string;
  CiphertextBlob: string;
  Message: string;
  EncryptionContext?: Record<string, string>;
  KeySpec?: string;
  SigningAlgorithm?: string;
  MacAlgorithm?: string;
}

export type CeilingHandler = (input: CeilingInput) => Record<string, unknown>;

export const signingCeilings: Record<string, CeilingHandler> = {
  'TrentService.Sign': (input) => {
    const key = String(input.SigningAlgorithm).startsWith('ECDSA') ? ecKey : rsaKey;
    return {
      KeyId: KEY_ARN,
      Signature: sign('sha256', Buffer.from(input.Message, 'base64'), key).toString('base64'),
      SigningAlgorithm: input.SigningAlgorithm,
    };
  },
  'TrentService.GenerateMac': (input) => ({
    KeyId: KEY_ARN,
    Mac: createHmac('sha256', macKey).update(Buffer.from(input.Message, 'base64')).digest('base64'),
    MacAlgorithm: input.MacAlgorithm,
  }),
};
