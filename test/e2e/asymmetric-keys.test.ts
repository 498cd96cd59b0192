import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  SignCommand,
  VerifyCommand,
  type DataKeyPairSpec,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { startDev, type DevDeployment } from './harness.ts';

const message = Buffer.from('a message whose signature anyone may check with the public key');

/**
 * An independent verification of a KMS signature over `message`, with AWS's documented parameters:
 * node:crypto's, or for Ed25519ph (which Node 20 lacks) @noble/curves's, which hashes the message itself.
 */
function independentlyVerifies(publicKey: KeyObject, algorithm: string, signature: Uint8Array): boolean {
  const bits = Number(algorithm.slice(-3));
  if (algorithm === 'ED25519_SHA_512') return verify(null, message, publicKey, signature);
  if (algorithm === 'ED25519_PH_SHA_512') return ed25519ph.verify(signature, message, Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  if (algorithm.startsWith('ECDSA')) return verify(`sha${bits}`, message, publicKey, signature);
  const padding = algorithm.startsWith('RSASSA_PSS') ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
  return verify(`sha${bits}`, message, { key: publicKey, padding, saltLength: bits / 8 }, signature);
}

const flipped = (bytes: Uint8Array): Buffer => {
  const copy = Buffer.from(bytes);
  copy[copy.length >> 1]! ^= 0x10;
  return copy;
};

describe('asymmetric keys through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  const createKey = async (KeySpec: KeySpec, KeyUsage: KeyUsageType) => (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }))).KeyMetadata!;
  const publicKeyOf = async (KeyId: string) =>
    createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId }))).PublicKey!), format: 'der', type: 'spki' });

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  const rsaSigning = [
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
  ];
  const signingSpecs: [KeySpec, string[]][] = [
    ['RSA_2048', rsaSigning],
    ['RSA_3072', rsaSigning],
    ['RSA_4096', rsaSigning],
    ['ECC_NIST_P256', ['ECDSA_SHA_256']],
    ['ECC_NIST_P384', ['ECDSA_SHA_384']],
    ['ECC_NIST_P521', ['ECDSA_SHA_512']],
    ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
    ['ECC_NIST_EDWARDS25519', ['ED25519_SHA_512', 'ED25519_PH_SHA_512']],
  ];

  for (const [spec, algorithms] of signingSpecs) {
    const messageTypes = spec === 'ECC_NIST_EDWARDS25519' ? 'RAW messages (pure) and SHA-512 DIGESTs (ph)' : 'RAW messages and DIGESTs';
    it(`${spec} signatures over ${messageTypes} verify independently with the public key from GetPublicKey`, async () => {
      const metadata = await createKey(spec, 'SIGN_VERIFY');
      assert.deepEqual(metadata.SigningAlgorithms, algorithms);
      assert.equal(metadata.EncryptionAlgorithms, undefined);
      const KeyId = metadata.KeyId!;
      const response = await kms.send(new GetPublicKeyCommand({ KeyId }));
      assert.equal(response.KeySpec, spec);
      assert.equal(response.KeyUsage, 'SIGN_VERIFY');
      assert.deepEqual(response.SigningAlgorithms, algorithms);
      const publicKey = createPublicKey({ key: Buffer.from(response.PublicKey!), format: 'der', type: 'spki' });
      for (const name of algorithms) {
        const SigningAlgorithm = name as SigningAlgorithmSpec;
        const digest = createHash(`sha${name.slice(-3)}`)
          .update(message)
          .digest();
        const both = [
          [message, 'RAW'],
          [digest, 'DIGEST'],
        ] as const;
        const inputs = { ED25519_SHA_512: [both[0]], ED25519_PH_SHA_512: [both[1]] }[name] ?? both;
        for (const [Message, MessageType] of inputs) {
          const signed = await kms.send(new SignCommand({ KeyId, Message, MessageType, SigningAlgorithm }));
          assert.equal(signed.SigningAlgorithm, name);
          assert.equal(signed.KeyId, metadata.Arn);
          assert.ok(independentlyVerifies(publicKey, name, signed.Signature!), `${name} ${MessageType} verifies independently`);
          const verified = await kms.send(new VerifyCommand({ KeyId, Message, MessageType, SigningAlgorithm, Signature: signed.Signature }));
          assert.equal(verified.SignatureValid, true);
          await assert.rejects(kms.send(new VerifyCommand({ KeyId, Message, MessageType, SigningAlgorithm, Signature: flipped(signed.Signature!) })), {
            name: 'KMSInvalidSignatureException',
          });
        }
      }
    });
  }

  it('Verify accepts a signature made outside KMS and rejects it for another message', async () => {
    const { KeyId } = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const signed = await kms.send(new SignCommand({ KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const digest = createHash('sha256').update(message).digest();
    const valid = await kms.send(
      new VerifyCommand({ KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256', Signature: signed.Signature }),
    );
    assert.equal(valid.SignatureValid, true);
    await assert.rejects(
      kms.send(new VerifyCommand({ KeyId, Message: Buffer.from('another message'), SigningAlgorithm: 'ECDSA_SHA_256', Signature: signed.Signature })),
      { name: 'KMSInvalidSignatureException' },
    );
  });

  it('refuses to sign with an encryption key, with an algorithm the key does not support, and a DIGEST of the wrong length', async () => {
    const rsaEncryption = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    for (const KeyId of [rsaEncryption.KeyId, symmetric.KeyId]) {
      await assert.rejects(kms.send(new SignCommand({ KeyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), {
        name: 'InvalidKeyUsageException',
      });
    }
    const p256 = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    for (const SigningAlgorithm of ['ECDSA_SHA_384', 'RSASSA_PSS_SHA_256'] as const) {
      await assert.rejects(kms.send(new SignCommand({ KeyId: p256.KeyId, Message: message, SigningAlgorithm })), { name: 'InvalidKeyUsageException' });
    }
    await assert.rejects(
      kms.send(new SignCommand({ KeyId: p256.KeyId, Message: Buffer.alloc(48, 1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
      { name: 'ValidationException' },
    );
    const ed25519 = await createKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    await assert.rejects(
      kms.send(new SignCommand({ KeyId: ed25519.KeyId, Message: Buffer.alloc(64, 1), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' })),
      { name: 'ValidationException' },
    );
    await assert.rejects(kms.send(new SignCommand({ KeyId: ed25519.KeyId, Message: message, SigningAlgorithm: 'ED25519_PH_SHA_512' })), {
      name: 'ValidationException',
      message: 'The signing algorithm ED25519_PH_SHA_512 requires MessageType DIGEST.',
    });
    await kms.send(new DisableKeyCommand({ KeyId: p256.KeyId }));
    await assert.rejects(kms.send(new SignCommand({ KeyId: p256.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })), {
      name: 'DisabledException',
    });
    await assert.rejects(kms.send(new GetPublicKeyCommand({ KeyId: symmetric.KeyId })), { name: 'UnsupportedOperationException' });
  });

  for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
    it(`${spec} decrypts OAEP ciphertext made locally with its public key and encrypts up to AWS's plaintext limit`, async () => {
      const metadata = await createKey(spec, 'ENCRYPT_DECRYPT');
      assert.deepEqual(metadata.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      assert.equal(metadata.SigningAlgorithms, undefined);
      const KeyId = metadata.KeyId!;
      const publicKey = await publicKeyOf(KeyId);
      const modulusBytes = Number(spec.slice(4)) / 8;
      for (const [EncryptionAlgorithm, oaepHash, hashBytes] of [
        ['RSAES_OAEP_SHA_1', 'sha1', 20],
        ['RSAES_OAEP_SHA_256', 'sha256', 32],
      ] as const) {
        const plaintext = Buffer.from(`secret under ${EncryptionAlgorithm}`);
        const local = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);
        const decrypted = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: local, EncryptionAlgorithm }));
        assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
        assert.equal(decrypted.EncryptionAlgorithm, EncryptionAlgorithm);
        const limit = modulusBytes - 2 * hashBytes - 2;
        const largest = Buffer.alloc(limit, 7);
        const encrypted = await kms.send(new EncryptCommand({ KeyId, Plaintext: largest, EncryptionAlgorithm }));
        assert.equal(encrypted.CiphertextBlob!.length, modulusBytes);
        const roundTrip = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: encrypted.CiphertextBlob, EncryptionAlgorithm }));
        assert.deepEqual(Buffer.from(roundTrip.Plaintext!), largest);
        await assert.rejects(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.alloc(limit + 1, 7), EncryptionAlgorithm })), {
          name: 'ValidationException',
        });
      }
    });
  }

  it('asks for the RSA key and algorithm to decrypt RSA ciphertext and refuses the wrong algorithm', async () => {
    const { KeyId } = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    await assert.rejects(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'InvalidKeyUsageException' });
    await assert.rejects(kms.send(new DecryptCommand({ KeyId, CiphertextBlob })), { name: 'InvalidKeyUsageException' });
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), {
      name: 'InvalidCiphertextException',
    });
    await assert.rejects(kms.send(new DecryptCommand({ KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })), {
      name: 'InvalidCiphertextException',
    });
    await assert.rejects(kms.send(new SignCommand({ KeyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), {
      name: 'InvalidKeyUsageException',
    });
  });

  for (const spec of ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const) {
    it(`${spec} KEY_AGREEMENT derives the same ECDH secret node:crypto computes from the peer's private key`, async () => {
      const metadata = await createKey(spec, 'KEY_AGREEMENT');
      assert.deepEqual(metadata.KeyAgreementAlgorithms, ['ECDH']);
      assert.equal(metadata.SigningAlgorithms, undefined);
      const kmsPublicKey = await publicKeyOf(metadata.KeyId!);
      const peer = generateKeyPairSync('ec', { namedCurve: kmsPublicKey.asymmetricKeyDetails!.namedCurve! });
      const derived = await kms.send(
        new DeriveSharedSecretCommand({
          KeyId: metadata.KeyId,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
        }),
      );
      assert.deepEqual(Buffer.from(derived.SharedSecret!), diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublicKey }));
      assert.equal(derived.KeyAgreementAlgorithm, 'ECDH');
      const otherCurve = generateKeyPairSync('ec', { namedCurve: spec === 'ECC_NIST_P256' ? 'secp384r1' : 'prime256v1' });
      await assert.rejects(
        kms.send(
          new DeriveSharedSecretCommand({
            KeyId: metadata.KeyId,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: otherCurve.publicKey.export({ format: 'der', type: 'spki' }),
          }),
        ),
        { name: 'ValidationException' },
      );
      await assert.rejects(kms.send(new SignCommand({ KeyId: metadata.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })), {
        name: 'InvalidKeyUsageException',
      });
    });
  }

  it('re-encrypts RSA ciphertext under a symmetric key and back', async () => {
    const rsaKey = (await createKey('RSA_3072', 'ENCRYPT_DECRYPT')).KeyId!;
    const symmetricKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const plaintext = Buffer.from('moved between key types');
    const local = publicEncrypt({ key: await publicKeyOf(rsaKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plaintext);
    const toSymmetric = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: local, SourceKeyId: rsaKey, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetricKey }),
    );
    assert.equal(toSymmetric.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_256');
    assert.deepEqual(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: toSymmetric.CiphertextBlob }))).Plaintext!), plaintext);
    const toRsa = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: toSymmetric.CiphertextBlob, DestinationKeyId: rsaKey, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }),
    );
    assert.equal(toRsa.DestinationEncryptionAlgorithm, 'RSAES_OAEP_SHA_1');
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: toRsa.CiphertextBlob, KeyId: rsaKey, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
  });

  it('refuses DeriveSharedSecret with a signing key', async () => {
    const { KeyId } = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await assert.rejects(
      kms.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }) })),
      { name: 'InvalidKeyUsageException' },
    );
  });

  describe('data key pairs', () => {
    let wrappingKeyId: string;
    const context = { purpose: 'data key pair' };
    before(async () => {
      wrappingKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    });

    const pairSpecs: DataKeyPairSpec[] = [
      'RSA_2048',
      'RSA_3072',
      'RSA_4096',
      'ECC_NIST_P256',
      'ECC_NIST_P384',
      'ECC_NIST_P521',
      'ECC_SECG_P256K1',
      'ECC_NIST_EDWARDS25519',
    ];
    for (const KeyPairSpec of pairSpecs) {
      it(`${KeyPairSpec} private key signs what its public key verifies, and Decrypt returns the same PKCS#8 key`, async () => {
        const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: wrappingKeyId, KeyPairSpec, EncryptionContext: context }));
        assert.equal(pair.KeyPairSpec, KeyPairSpec);
        const privateKey = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
        const publicKey = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
        const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
        assert.ok(verify(algorithm, message, publicKey, sign(algorithm, message, privateKey)));
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: context }));
        assert.deepEqual(Buffer.from(decrypted.Plaintext!), Buffer.from(pair.PrivateKeyPlaintext!));
      });
    }

    it('without plaintext returns a ciphertext whose decrypted private key matches the public key', async () => {
      const pair = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: wrappingKeyId, KeyPairSpec: 'ECC_NIST_P256' }));
      assert.equal((pair as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext, undefined);
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }));
      const privateKey = createPrivateKey({ key: Buffer.from(Plaintext!), format: 'der', type: 'pkcs8' });
      const publicKey = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
      assert.ok(verify('sha256', message, publicKey, sign('sha256', message, privateKey)));
    });

    it('refuses an asymmetric KMS key to protect the pair', async () => {
      const { KeyId } = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
      await assert.rejects(kms.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec: 'ECC_NIST_P256' })), { name: 'InvalidKeyUsageException' });
    });
  });
});
