import { randomBytes } from 'node:crypto';
import { aesGcmDecrypt, aesGcmEncrypt, canonicalContext, encodeBlob, encodeHeader, parseBlob, type EncryptionContext } from '../crypto/index.ts';
import { KmsError } from '../errors/index.ts';
import type { KeyRecord } from './key-record.ts';
import { isSymmetric } from './key-specs.ts';
import { requireEnabled } from './key-state-errors.ts';
import { finishDryRun, type OperationDeps, type Operations, type RequestFacts } from './operation.ts';
import { keyArn, type Caller } from './region-context.ts';

const DATA_KEY_BYTES: Record<string, number> = { AES_128: 16, AES_256: 32 };

export function cryptographicOperations(deps: OperationDeps): Operations {
  const { ctx, keys, authorize } = deps;

  /** Finds a key for a cryptographic operation and checks state, usage and permission. */
  const usableKey = async (identifier: string, caller: Caller, action: string, facts: RequestFacts): Promise<KeyRecord> => {
    const key = await keys.find(identifier, { allowAlias: true });
    await authorize(caller, action, key, facts);
    const arn = keyArn(ctx, key.keyId);
    requireEnabled(arn, key.state);
    if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new KmsError('InvalidKeyUsageException', `${arn} key usage is ${key.keyUsage} which is not valid for ${action}.`);
    }
    return key;
  };

  const checkAlgorithm = (key: KeyRecord, algorithm: string | undefined): void => {
    if (algorithm !== undefined && isSymmetric(key.keySpec) && algorithm !== 'SYMMETRIC_DEFAULT') {
      throw new KmsError('InvalidKeyUsageException', `The encryption algorithm ${algorithm} is not valid for ${keyArn(ctx, key.keyId)}.`);
    }
  };

  const encryptWith = async (key: KeyRecord, plaintext: Buffer, context: EncryptionContext | undefined): Promise<Buffer> => {
    const material = await keys.material(key, key.currentMaterial);
    if (!material) throw new KmsError('KMSInvalidStateException', `${keyArn(ctx, key.keyId)} has no key material.`);
    const header = encodeHeader({ keyId: key.keyId, materialVersion: key.currentMaterial });
    return encodeBlob(header, aesGcmEncrypt(material, plaintext, Buffer.concat([header, canonicalContext(context)])));
  };

  const decryptBlob = async (
    blob: Buffer,
    context: EncryptionContext | undefined,
    keyIdentifier: string | undefined,
    algorithm: string | undefined,
    caller: Caller,
    action: string,
    grantTokens: string[] | undefined,
  ): Promise<{ key: KeyRecord; plaintext: Buffer }> => {
    const parsed = parseBlob(blob);
    if (!parsed) throw invalidCiphertext();
    if (keyIdentifier !== undefined) {
      const requested = await keys.resolveKeyId(keyIdentifier, { allowAlias: true });
      if (requested !== parsed.keyId) {
        throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
      }
    }
    const key = await keys.load(parsed.keyId).catch((error: unknown) => {
      if (error instanceof KmsError && error.code === 'NotFoundException') throw invalidCiphertext();
      throw error;
    });
    await authorize(caller, action, key, { encryptionContext: context, grantTokens });
    requireEnabled(keyArn(ctx, key.keyId), key.state);
    checkAlgorithm(key, algorithm);
    const material = await keys.material(key, parsed.materialVersion);
    if (!material) throw invalidCiphertext();
    const plaintext = aesGcmDecrypt(material, parsed, Buffer.concat([parsed.header, canonicalContext(context)]));
    if (!plaintext) throw invalidCiphertext();
    return { key, plaintext };
  };

  const dataKey = async (input: Record<string, any>, caller: Caller, action: string) => {
    if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined)) {
      throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
    }
    if (input.Recipient !== undefined) throw new KmsError('UnsupportedOperationException', 'Recipient attestation is not supported by Concord.');
    const key = await usableKey(input.KeyId, caller, action, facts(input, input.EncryptionContext));
    finishDryRun(input);
    const plaintext = randomBytes(input.NumberOfBytes ?? DATA_KEY_BYTES[input.KeySpec]!);
    return { key, plaintext, ciphertext: await encryptWith(key, plaintext, input.EncryptionContext) };
  };

  return {
    async Encrypt(input, caller) {
      const key = await usableKey(input.KeyId, caller, 'Encrypt', facts(input, input.EncryptionContext));
      checkAlgorithm(key, input.EncryptionAlgorithm);
      finishDryRun(input);
      return {
        CiphertextBlob: await encryptWith(key, input.Plaintext, input.EncryptionContext),
        KeyId: keyArn(ctx, key.keyId),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },

    async Decrypt(input, caller) {
      if (input.Recipient !== undefined) throw new KmsError('UnsupportedOperationException', 'Recipient attestation is not supported by Concord.');
      const { key, plaintext } = await decryptBlob(input.CiphertextBlob, input.EncryptionContext, input.KeyId, input.EncryptionAlgorithm, caller, 'Decrypt', input.GrantTokens);
      finishDryRun(input);
      return { KeyId: keyArn(ctx, key.keyId), Plaintext: plaintext, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },

    async ReEncrypt(input, caller) {
      const source = await decryptBlob(
        input.CiphertextBlob,
        input.SourceEncryptionContext,
        input.SourceKeyId,
        input.SourceEncryptionAlgorithm,
        caller,
        'ReEncryptFrom',
        input.GrantTokens,
      );
      const destination = await usableKey(input.DestinationKeyId, caller, 'ReEncryptTo', facts(input, input.DestinationEncryptionContext));
      checkAlgorithm(destination, input.DestinationEncryptionAlgorithm);
      finishDryRun(input);
      return {
        CiphertextBlob: await encryptWith(destination, source.plaintext, input.DestinationEncryptionContext),
        SourceKeyId: keyArn(ctx, source.key.keyId),
        KeyId: keyArn(ctx, destination.keyId),
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },

    async GenerateDataKey(input, caller) {
      const { key, plaintext, ciphertext } = await dataKey(input, caller, 'GenerateDataKey');
      return { CiphertextBlob: ciphertext, Plaintext: plaintext, KeyId: keyArn(ctx, key.keyId) };
    },

    async GenerateDataKeyWithoutPlaintext(input, caller) {
      const { key, ciphertext } = await dataKey(input, caller, 'GenerateDataKeyWithoutPlaintext');
      return { CiphertextBlob: ciphertext, KeyId: keyArn(ctx, key.keyId) };
    },

    async GenerateRandom(input) {
      if (input.CustomKeyStoreId !== undefined) throw new KmsError('UnsupportedOperationException', 'Custom key stores are not supported by Concord.');
      if (input.Recipient !== undefined) throw new KmsError('UnsupportedOperationException', 'Recipient attestation is not supported by Concord.');
      if (input.NumberOfBytes === undefined) throw new KmsError('ValidationException', 'Please specify number of bytes.');
      return { Plaintext: randomBytes(input.NumberOfBytes) };
    },
  };
}

const facts = (input: Record<string, any>, encryptionContext: EncryptionContext | undefined): RequestFacts => ({
  encryptionContext,
  grantTokens: input.GrantTokens,
});

const invalidCiphertext = (): KmsError => new KmsError('InvalidCiphertextException', 'The ciphertext is not valid for any KMS key this caller can use.');
