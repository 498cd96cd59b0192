import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildClient, CommitmentPolicy, getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

describe('cryptographic operations through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  let keyId: string;
  let keyArn: string;
  let otherKeyId: string;
  const plaintext = Buffer.from('the quick brown fox jumps over the lazy dog');
  const context = { tenant: 'acme', purpose: 'tests' };

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
    ({ KeyId: keyId, Arn: keyArn } = (await kms.send(new CreateKeyCommand({}))).KeyMetadata! as { KeyId: string; Arn: string });
    otherKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/crypto-tests', TargetKeyId: keyId }));
  });
  after(async () => {
    await dev.stop();
  });

  const encrypt = async (EncryptionContext?: Record<string, string>) =>
    (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext }))).CiphertextBlob!;

  describe('Encrypt and Decrypt', () => {
    it('decrypts without a KeyId, naming the key that encrypted', async () => {
      const encrypted = await kms.send(new EncryptCommand({ KeyId: 'alias/crypto-tests', Plaintext: plaintext, EncryptionContext: context }));
      assert.equal(encrypted.KeyId, keyArn);
      assert.equal(encrypted.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.equal(Buffer.from(encrypted.CiphertextBlob!).includes(plaintext), false);
      const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context }));
      assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
      assert.equal(decrypted.KeyId, keyArn);
      assert.equal(decrypted.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    });

    it('decrypts with the right KeyId given as key ID, ARN or alias', async () => {
      const CiphertextBlob = await encrypt();
      for (const KeyId of [keyId, keyArn, 'alias/crypto-tests']) {
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob, KeyId }));
        assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext, KeyId);
      }
    });

    it('gives different ciphertexts for the same plaintext', async () => {
      assert.notDeepEqual(Buffer.from(await encrypt()), Buffer.from(await encrypt()));
    });

    it('answers IncorrectKeyException when Decrypt names another key', async () => {
      const CiphertextBlob = await encrypt();
      await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob, KeyId: otherKeyId })), { name: 'IncorrectKeyException' });
    });

    it('answers InvalidCiphertextException for a wrong or missing encryption context', async () => {
      const CiphertextBlob = await encrypt(context);
      const wrongContexts: (Record<string, string> | undefined)[] = [
        { tenant: 'acme', purpose: 'other' },
        { tenant: 'acme' },
        { ...context, extra: 'x' },
        undefined,
      ];
      for (const EncryptionContext of wrongContexts) {
        await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })), { name: 'InvalidCiphertextException' });
      }
      const unbound = await encrypt();
      await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: unbound, EncryptionContext: context })), { name: 'InvalidCiphertextException' });
    });

    it('answers InvalidCiphertextException for a blob tampered anywhere', async () => {
      const blob = Buffer.from(await encrypt());
      for (const index of [1, 5, blob.length - 30, blob.length - 1]) {
        const tampered = Buffer.from(blob);
        tampered[index] = tampered[index]! ^ 0x01;
        await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: tampered })), { name: 'InvalidCiphertextException' }, `byte ${index}`);
      }
      await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, blob.length - 1) })), { name: 'InvalidCiphertextException' });
    });

    it('answers InvalidCiphertextException for garbage', async () => {
      for (const garbage of [Buffer.from('this is not a ciphertext blob at all, just words'), Buffer.alloc(200, 1), Buffer.from([1])]) {
        await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: garbage })), { name: 'InvalidCiphertextException' });
      }
    });

    it('refuses DryRun with DryRunOperationException after checking the request', async () => {
      await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, DryRun: true })), { name: 'DryRunOperationException' });
      const CiphertextBlob = await encrypt();
      await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob, DryRun: true })), { name: 'DryRunOperationException' });
      await assert.rejects(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', DryRun: true })), {
        name: 'DryRunOperationException',
      });
      await assert.rejects(kms.send(new EncryptCommand({ KeyId: 'alias/missing', Plaintext: plaintext, DryRun: true })), { name: 'NotFoundException' });
    });
  });

  it('re-encrypts under another key and context without revealing the plaintext', async () => {
    const CiphertextBlob = await encrypt(context);
    const reencrypted = await kms.send(
      new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: context, DestinationKeyId: otherKeyId, DestinationEncryptionContext: { moved: 'yes' } }),
    );
    assert.equal(reencrypted.SourceKeyId, keyArn);
    assert.match(reencrypted.KeyId!, new RegExp(`key/${otherKeyId}$`));
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: reencrypted.CiphertextBlob, EncryptionContext: { moved: 'yes' } }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
    assert.match(decrypted.KeyId!, new RegExp(`key/${otherKeyId}$`));
    await assert.rejects(kms.send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: otherKeyId })), { name: 'InvalidCiphertextException' });
    await assert.rejects(
      kms.send(new ReEncryptCommand({ CiphertextBlob, SourceEncryptionContext: context, SourceKeyId: otherKeyId, DestinationKeyId: keyId })),
      { name: 'IncorrectKeyException' },
    );
  });

  describe('data keys', () => {
    for (const [label, input, bytes] of [
      ['KeySpec AES_256', { KeySpec: 'AES_256' }, 32],
      ['KeySpec AES_128', { KeySpec: 'AES_128' }, 16],
      ['NumberOfBytes 64', { NumberOfBytes: 64 }, 64],
    ] as const) {
      it(`generates a data key with ${label} whose ciphertext decrypts to its plaintext`, async () => {
        const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, EncryptionContext: context, ...input }));
        assert.equal(dataKey.Plaintext!.length, bytes);
        assert.equal(dataKey.KeyId, keyArn);
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }));
        assert.deepEqual(Buffer.from(decrypted.Plaintext!), Buffer.from(dataKey.Plaintext!));
      });
    }

    it('refuses a data key request with neither or both of KeySpec and NumberOfBytes', async () => {
      await assert.rejects(kms.send(new GenerateDataKeyCommand({ KeyId: keyId })), { name: 'ValidationException' });
      await assert.rejects(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', NumberOfBytes: 32 })), { name: 'ValidationException' });
      await assert.rejects(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId })), { name: 'ValidationException' });
    });

    it('generates a data key without plaintext that decrypts to a key of the asked size', async () => {
      const dataKey = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_128' }));
      assert.equal('Plaintext' in dataKey, false);
      assert.equal(dataKey.KeyId, keyArn);
      const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }));
      assert.equal(decrypted.Plaintext!.length, 16);
    });
  });

  describe('GenerateRandom', () => {
    it('returns 1 and 1024 random bytes', async () => {
      assert.equal((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1 }))).Plaintext!.length, 1);
      const first = (await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext!;
      const second = (await kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }))).Plaintext!;
      assert.equal(first.length, 1024);
      assert.notDeepEqual(Buffer.from(first), Buffer.from(second));
    });

    it('refuses 0 and 1025 bytes with ValidationException', async () => {
      for (const NumberOfBytes of [0, 1025]) {
        await assert.rejects(kms.send(new GenerateRandomCommand({ NumberOfBytes })), { name: 'ValidationException', message: /numberOfBytes/ });
      }
    });
  });

  it('refuses a Recipient (enclave attestation) rather than answer in plaintext', async () => {
    const Recipient = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: Buffer.from('not an attestation document') };
    const CiphertextBlob = await encrypt();
    const requests = {
      Decrypt: () => kms.send(new DecryptCommand({ CiphertextBlob, Recipient })),
      GenerateDataKey: () => kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', Recipient })),
      GenerateDataKeyPair: () => kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256', Recipient })),
      GenerateRandom: () => kms.send(new GenerateRandomCommand({ NumberOfBytes: 16, Recipient })),
    };
    for (const [operation, send] of Object.entries(requests)) {
      await assert.rejects(send(), { name: 'UnsupportedOperationException', message: /Recipient/ }, operation);
    }
  });

  it('round-trips through the AWS Encryption SDK with a KMS keyring', async () => {
    const { encrypt: esdkEncrypt, decrypt: esdkDecrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const clientProvider = getClient(KMS, {
      endpoint: dev.endpoint(),
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: [`arn:aws:kms:us-east-1:${ACCOUNT}:key/${otherKeyId}`], clientProvider });
    const message = Buffer.from('a message sealed by the AWS Encryption SDK');
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- KmsKeyringNode is a KeyringNode made by a mixin the ESDK's types do not relate to it
    const { result } = await esdkEncrypt(keyring, message, { encryptionContext: { stage: 'e2e' } });
    assert.equal(result.includes(message), false);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- KmsKeyringNode is a KeyringNode made by a mixin the ESDK's types do not relate to it
    const { plaintext: opened, messageHeader } = await esdkDecrypt(keyring, result);
    assert.deepEqual(opened, message);
    assert.equal(messageHeader.encryptionContext.stage, 'e2e');
    assert.equal(messageHeader.encryptedDataKeys.length, 2);

    const onlyOther = new KmsKeyringNode({ keyIds: [`arn:aws:kms:us-east-1:${ACCOUNT}:key/${otherKeyId}`], clientProvider });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- KmsKeyringNode is a KeyringNode made by a mixin the ESDK's types do not relate to it
    assert.deepEqual((await esdkDecrypt(onlyOther, result)).plaintext, message);
  });
});
