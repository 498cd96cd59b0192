import { randomBytes } from 'node:crypto';
import { openBlob, parseBlob, sealBlob, type EncryptionContext } from '../../crypto/index.ts';
import { KmsError } from '../../errors/index.ts';
import { generateKeyPairDer, isSymmetric, keyMaterialIdMember, requireEnabled, type KeyRecord } from '../keys/index.ts';
import { keyObjects } from './key-objects.ts';
import type {
  DataKeySpec,
  DecryptResponse,
  EncryptResponse,
  GenerateDataKeyPairRequest,
  GenerateDataKeyPairResponse,
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse,
  GenerateDataKeyRequest,
  GenerateDataKeyResponse,
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse,
  GenerateRandomResponse,
  ReEncryptResponse,
} from '../kms-api.ts';
import { finishDryRun, refuseRecipient, type OperationDeps, type Operations, type RequestFacts } from '../operation.ts';
import { keyArn, type Caller } from '../region-context.ts';
import { oaepDecrypt, oaepEncrypt } from './rsa-encryption.ts';
import { requireAlgorithm, usableKey as findUsableKey } from './usable-key.ts';

const DATA_KEY_BYTES: Record<DataKeySpec, number> = { AES_128: 16, AES_256: 32 };

export function cryptographicOperations(
  deps: OperationDeps,
): Operations<
  | 'Encrypt'
  | 'Decrypt'
  | 'ReEncrypt'
  | 'GenerateDataKey'
  | 'GenerateDataKeyWithoutPlaintext'
  | 'GenerateDataKeyPair'
  | 'GenerateDataKeyPairWithoutPlaintext'
  | 'GenerateRandom'
> {
  const { ctx, keys, authorize } = deps;
  const objects = keyObjects(keys);

  const usableKey = (identifier: string, caller: Caller, action: string, facts: RequestFacts): Promise<KeyRecord> =>
    findUsableKey(deps, identifier, caller, action, facts, 'ENCRYPT_DECRYPT');

  /** An omitted algorithm means SYMMETRIC_DEFAULT, which an RSA key refuses as AWS does. */
  const checkAlgorithm = (key: KeyRecord, algorithm: string | undefined): void => {
    requireAlgorithm(deps, key, 'encryption', algorithm ?? 'SYMMETRIC_DEFAULT');
  };

  /** Data keys and data key pairs are only ever protected by symmetric keys. */
  const requireSymmetric = (key: KeyRecord, action: string): void => {
    if (!isSymmetric(key.keySpec)) {
      throw new KmsError('InvalidKeyUsageException', `${keyArn(ctx, key.keyId)} key spec ${key.keySpec} is not valid for ${action}.`);
    }
  };

  /** RSA ciphertext is bare OAEP output as AWS returns it; symmetric ciphertext is Concord's blob. */
  const encryptWith = async (key: KeyRecord, plaintext: Buffer, context: EncryptionContext | undefined, algorithm?: string): Promise<Buffer> => {
    if (!isSymmetric(key.keySpec)) {
      refuseContext(context);
      return oaepEncrypt((await objects.keyPair(key)).publicKey, algorithm!, plaintext);
    }
    const material = await keys.material(key, key.currentMaterial);
    if (!material) throw new KmsError('KMSInvalidStateException', `${keyArn(ctx, key.keyId)} has no key material.`);
    return sealBlob(material, { keyId: key.keyId, materialVersion: key.currentMaterial }, plaintext, context);
  };

  const decryptBlob = async (
    blob: Buffer | undefined,
    context: EncryptionContext | undefined,
    keyIdentifier: string | undefined,
    algorithm: string | undefined,
    caller: Caller,
    action: string,
    grantTokens: string[] | undefined,
  ): Promise<{ key: KeyRecord; plaintext: Buffer; materialVersion?: number }> => {
    // The current API model lets CiphertextBlob be absent; without one there is nothing to decrypt.
    if (blob === undefined) {
      throw new KmsError(
        'ValidationException',
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
      );
    }
    const requested = keyIdentifier === undefined ? undefined : await keys.find(keyIdentifier, { allowAlias: true });
    if (requested && !isSymmetric(requested.keySpec)) {
      const key = await usableKey(keyIdentifier!, caller, action, { encryptionContext: context, grantTokens });
      checkAlgorithm(key, algorithm);
      refuseContext(context);
      const plaintext = oaepDecrypt((await objects.keyPair(key)).privateKey, algorithm!, blob);
      if (!plaintext) throw invalidCiphertext();
      return { key, plaintext };
    }
    const parsed = parseBlob(blob);
    if (!parsed) throw invalidCiphertext();
    if (requested && requested.keyId !== parsed.keyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
    }
    const key = await keys.loadShared(parsed.keyId).catch((error: unknown) => {
      if (error instanceof KmsError && error.code === 'NotFoundException') throw invalidCiphertext();
      throw error;
    });
    await authorize(caller, action, key, { encryptionContext: context, grantTokens });
    requireEnabled(keyArn(ctx, key.keyId), key.state);
    checkAlgorithm(key, algorithm);
    const material = await keys.material(key, parsed.materialVersion);
    if (!material) throw invalidCiphertext();
    const plaintext = openBlob(material, parsed, context);
    if (!plaintext) throw invalidCiphertext();
    return { key, plaintext, materialVersion: parsed.materialVersion };
  };

  const dataKey = async (input: GenerateDataKeyRequest | GenerateDataKeyWithoutPlaintextRequest, caller: Caller, action: string) => {
    if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined)) {
      throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
    }
    // Only the variant that answers the plaintext takes a Recipient.
    if ('Recipient' in input) refuseRecipient(input);
    const key = await usableKey(input.KeyId, caller, action, facts(input, input.EncryptionContext));
    requireSymmetric(key, action);
    finishDryRun(input);
    const plaintext = randomBytes(input.NumberOfBytes ?? DATA_KEY_BYTES[input.KeySpec!]);
    return { key, plaintext, ciphertext: await encryptWith(key, plaintext, input.EncryptionContext) };
  };

  /** A fresh key pair whose PKCS#8 private key is an ordinary ciphertext under a symmetric key, so Decrypt returns it. */
  const dataKeyPair = async (input: GenerateDataKeyPairRequest | GenerateDataKeyPairWithoutPlaintextRequest, caller: Caller, action: string) => {
    if ('Recipient' in input) refuseRecipient(input);
    const key = await usableKey(input.KeyId, caller, action, facts(input, input.EncryptionContext));
    requireSymmetric(key, action);
    finishDryRun(input);
    const pair = await generateKeyPairDer(input.KeyPairSpec);
    return {
      pair,
      output: {
        PrivateKeyCiphertextBlob: await encryptWith(key, pair.privateKey, input.EncryptionContext),
        PublicKey: pair.publicKey,
        KeyId: keyArn(ctx, key.keyId),
        KeyPairSpec: input.KeyPairSpec,
        ...keyMaterialIdMember('KeyMaterialId', key, key.currentMaterial),
      } satisfies GenerateDataKeyPairWithoutPlaintextResponse,
    };
  };

  return {
    async Encrypt(input, caller): Promise<EncryptResponse> {
      const key = await usableKey(input.KeyId, caller, 'Encrypt', facts(input, input.EncryptionContext));
      checkAlgorithm(key, input.EncryptionAlgorithm);
      finishDryRun(input);
      return {
        CiphertextBlob: await encryptWith(key, input.Plaintext, input.EncryptionContext, input.EncryptionAlgorithm),
        KeyId: keyArn(ctx, key.keyId),
        EncryptionAlgorithm: input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
      };
    },

    async Decrypt(input, caller): Promise<DecryptResponse> {
      refuseRecipient(input);
      const { key, plaintext, materialVersion } = await decryptBlob(
        input.CiphertextBlob,
        input.EncryptionContext,
        input.KeyId,
        input.EncryptionAlgorithm,
        caller,
        'Decrypt',
        input.GrantTokens,
      );
      finishDryRun(input);
      return {
        KeyId: keyArn(ctx, key.keyId),
        Plaintext: plaintext,
        EncryptionAlgorithm: input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
        ...(materialVersion !== undefined ? keyMaterialIdMember('KeyMaterialId', key, materialVersion) : {}),
      };
    },

    async ReEncrypt(input, caller): Promise<ReEncryptResponse> {
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
        CiphertextBlob: await encryptWith(destination, source.plaintext, input.DestinationEncryptionContext, input.DestinationEncryptionAlgorithm),
        SourceKeyId: keyArn(ctx, source.key.keyId),
        KeyId: keyArn(ctx, destination.keyId),
        SourceEncryptionAlgorithm: input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
        ...(source.materialVersion !== undefined ? keyMaterialIdMember('SourceKeyMaterialId', source.key, source.materialVersion) : {}),
        ...keyMaterialIdMember('DestinationKeyMaterialId', destination, destination.currentMaterial),
      };
    },

    async GenerateDataKey(input, caller): Promise<GenerateDataKeyResponse> {
      const { key, plaintext, ciphertext } = await dataKey(input, caller, 'GenerateDataKey');
      return {
        CiphertextBlob: ciphertext,
        Plaintext: plaintext,
        KeyId: keyArn(ctx, key.keyId),
        ...keyMaterialIdMember('KeyMaterialId', key, key.currentMaterial),
      };
    },

    async GenerateDataKeyWithoutPlaintext(input, caller): Promise<GenerateDataKeyWithoutPlaintextResponse> {
      const { key, ciphertext } = await dataKey(input, caller, 'GenerateDataKeyWithoutPlaintext');
      return { CiphertextBlob: ciphertext, KeyId: keyArn(ctx, key.keyId), ...keyMaterialIdMember('KeyMaterialId', key, key.currentMaterial) };
    },

    async GenerateDataKeyPair(input, caller): Promise<GenerateDataKeyPairResponse> {
      const { pair, output } = await dataKeyPair(input, caller, 'GenerateDataKeyPair');
      return { ...output, PrivateKeyPlaintext: pair.privateKey };
    },

    async GenerateDataKeyPairWithoutPlaintext(input, caller): Promise<GenerateDataKeyPairWithoutPlaintextResponse> {
      return (await dataKeyPair(input, caller, 'GenerateDataKeyPairWithoutPlaintext')).output;
    },

    async GenerateRandom(input, caller): Promise<GenerateRandomResponse> {
      await deps.authorizeIdentity(caller, 'GenerateRandom');
      if (input.CustomKeyStoreId !== undefined) throw new KmsError('UnsupportedOperationException', 'Custom key stores are not supported by Concord.');
      refuseRecipient(input);
      if (input.NumberOfBytes === undefined) throw new KmsError('ValidationException', 'Please specify number of bytes.');
      return { Plaintext: randomBytes(input.NumberOfBytes) };
    },
  };
}

const facts = (input: { GrantTokens?: string[] }, encryptionContext: EncryptionContext | undefined): RequestFacts => ({
  encryptionContext,
  grantTokens: input.GrantTokens,
});

/** AWS binds no encryption context to RSA ciphertext, so it refuses one rather than ignore it. */
function refuseContext(context: EncryptionContext | undefined): void {
  if (context !== undefined && Object.keys(context).length > 0) {
    throw new KmsError('ValidationException', 'EncryptionContext is not supported with asymmetric KMS keys.');
  }
}

const invalidCiphertext = (): KmsError => new KmsError('InvalidCiphertextException', 'The ciphertext is not valid for any KMS key this caller can use.');
