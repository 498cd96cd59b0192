import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  UpdatePrimaryRegionCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KMSClient,
  type KeySpec,
  type KeyUsageType,
} from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';
import { importKeyMaterial } from './key-material-import.ts';

/**
 * Every key spec (and usage, and imported material) × every operation on a key → the answer
 * the AWS KMS API reference documents: success, or the exact exception. Where AWS names the
 * exception for a key of the wrong kind, the rules below cite it:
 * - InvalidKeyUsageException: "The KeyUsage value of the KMS key is incompatible with the API
 *   operation", or the algorithm "is incompatible with the type of key material (KeySpec)":
 *   Encrypt/Decrypt/ReEncrypt need ENCRYPT_DECRYPT, data keys a symmetric encryption key,
 *   Sign/Verify SIGN_VERIFY, GenerateMac/VerifyMac GENERATE_VERIFY_MAC, DeriveSharedSecret
 *   KEY_AGREEMENT.
 * - UnsupportedOperationException: GetPublicKey of a symmetric or HMAC key; automatic and
 *   on-demand rotation, and ListKeyRotations, of asymmetric and HMAC keys ("supported only on
 *   symmetric encryption KMS keys"); automatic rotation of imported material; import
 *   operations on a key whose origin is not EXTERNAL; ReplicateKey and UpdatePrimaryRegion
 *   of a single-Region key.
 * - GetKeyRotationStatus succeeds for every key: "The key rotation status of these KMS keys
 *   is always false".
 */

interface KeyKind {
  name: string;
  spec: KeySpec;
  usage: KeyUsageType;
  imported?: boolean;
}

const RSA = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
const KINDS: KeyKind[] = [
  { name: 'SYMMETRIC_DEFAULT', spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' },
  { name: 'SYMMETRIC_DEFAULT imported', spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', imported: true },
  ...RSA.map((spec) => ({ name: `${spec} ENCRYPT_DECRYPT`, spec, usage: 'ENCRYPT_DECRYPT' as const })),
  ...RSA.map((spec) => ({ name: `${spec} SIGN_VERIFY`, spec, usage: 'SIGN_VERIFY' as const })),
  ...(['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'] as const).flatMap((spec) => [
    { name: `${spec} SIGN_VERIFY`, spec, usage: 'SIGN_VERIFY' as const },
    { name: `${spec} KEY_AGREEMENT`, spec, usage: 'KEY_AGREEMENT' as const },
  ]),
  { name: 'ECC_SECG_P256K1 SIGN_VERIFY', spec: 'ECC_SECG_P256K1', usage: 'SIGN_VERIFY' },
  { name: 'ECC_NIST_EDWARDS25519 SIGN_VERIFY', spec: 'ECC_NIST_EDWARDS25519', usage: 'SIGN_VERIFY' },
  ...(['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'] as const).map((spec) => ({ name: spec, spec, usage: 'GENERATE_VERIFY_MAC' as const })),
];

const SIGNING_ALGORITHM: Record<string, string> = {
  ECC_NIST_P256: 'ECDSA_SHA_256',
  ECC_NIST_P384: 'ECDSA_SHA_384',
  ECC_NIST_P521: 'ECDSA_SHA_512',
  ECC_SECG_P256K1: 'ECDSA_SHA_256',
  ECC_NIST_EDWARDS25519: 'ED25519_SHA_512',
};
const CURVE: Record<string, string> = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1' };

const symmetric = (k: KeyKind) => k.spec === 'SYMMETRIC_DEFAULT';
const asymmetric = (k: KeyKind) => !symmetric(k) && !k.spec.startsWith('HMAC_');
const rotatesAutomatically = (k: KeyKind) => symmetric(k) && !k.imported;
const when = (holds: boolean, otherwise: string): string => (holds ? 'ok' : otherwise);
const usage = (k: KeyKind, needed: KeyUsageType) => when(k.usage === needed, 'InvalidKeyUsageException');

interface Cell {
  expect: (k: KeyKind) => string;
  call: (kms: KMSClient, KeyId: string, k: KeyKind) => Promise<unknown>;
}

describe('every key spec × every key operation answers as AWS documents', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  let sourceCiphertext: Uint8Array;
  before(async () => {
    dev = await startDev();
    kms = dev.client();
    const source = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    sourceCiphertext = (await kms.send(new EncryptCommand({ KeyId: source, Plaintext: Buffer.from('re-encrypt me') }))).CiphertextBlob!;
  });
  after(async () => {
    await dev.stop();
  });

  const message = Buffer.from('the matrix');
  const encryptionAlgorithm = (k: KeyKind) => (k.spec.startsWith('RSA_') ? 'RSAES_OAEP_SHA_256' : undefined);
  const signingAlgorithm = (k: KeyKind) => (SIGNING_ALGORITHM[k.spec] ?? 'RSASSA_PSS_SHA_256') as never;
  const macAlgorithm = (k: KeyKind) => (k.spec.startsWith('HMAC_') ? `HMAC_SHA_${k.spec.slice(5)}` : 'HMAC_SHA_256') as never;
  const peerPublicKey = (k: KeyKind) =>
    generateKeyPairSync('ec', { namedCurve: CURVE[k.spec] ?? 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });

  /** In order: the operations that change the key's state come last. */
  const OPERATIONS: Record<string, Cell> = {
    DescribeKey: { expect: () => 'ok', call: (c, KeyId) => c.send(new DescribeKeyCommand({ KeyId })) },
    Encrypt: {
      expect: (k) => usage(k, 'ENCRYPT_DECRYPT'),
      call: (c, KeyId, k) => c.send(new EncryptCommand({ KeyId, Plaintext: message, EncryptionAlgorithm: encryptionAlgorithm(k) })),
    },
    Decrypt: {
      expect: (k) => usage(k, 'ENCRYPT_DECRYPT'),
      call: async (c, KeyId, k) => {
        const EncryptionAlgorithm = encryptionAlgorithm(k) ?? (k.usage === 'ENCRYPT_DECRYPT' ? undefined : 'RSAES_OAEP_SHA_256');
        const CiphertextBlob =
          k.usage === 'ENCRYPT_DECRYPT'
            ? (await c.send(new EncryptCommand({ KeyId, Plaintext: message, EncryptionAlgorithm }))).CiphertextBlob!
            : randomBytes(256);
        const { Plaintext } = await c.send(new DecryptCommand({ KeyId, CiphertextBlob, EncryptionAlgorithm }));
        assert.deepEqual(Buffer.from(Plaintext!), message);
      },
    },
    ReEncrypt: {
      expect: (k) => usage(k, 'ENCRYPT_DECRYPT'),
      call: (c, DestinationKeyId, k) =>
        c.send(new ReEncryptCommand({ CiphertextBlob: sourceCiphertext, DestinationKeyId, DestinationEncryptionAlgorithm: encryptionAlgorithm(k) })),
    },
    GenerateDataKey: {
      expect: (k) => when(symmetric(k), 'InvalidKeyUsageException'),
      call: (c, KeyId) => c.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })),
    },
    GenerateDataKeyWithoutPlaintext: {
      expect: (k) => when(symmetric(k), 'InvalidKeyUsageException'),
      call: (c, KeyId) => c.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId, NumberOfBytes: 32 })),
    },
    GenerateDataKeyPair: {
      expect: (k) => when(symmetric(k), 'InvalidKeyUsageException'),
      call: (c, KeyId) => c.send(new GenerateDataKeyPairCommand({ KeyId, KeyPairSpec: 'ECC_NIST_P256' })),
    },
    GenerateDataKeyPairWithoutPlaintext: {
      expect: (k) => when(symmetric(k), 'InvalidKeyUsageException'),
      call: (c, KeyId) => c.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId, KeyPairSpec: 'ECC_NIST_P256' })),
    },
    Sign: {
      expect: (k) => usage(k, 'SIGN_VERIFY'),
      call: (c, KeyId, k) => c.send(new SignCommand({ KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: signingAlgorithm(k) })),
    },
    Verify: {
      expect: (k) => usage(k, 'SIGN_VERIFY'),
      call: async (c, KeyId, k) => {
        const request = { KeyId, Message: message, MessageType: 'RAW' as const, SigningAlgorithm: signingAlgorithm(k) };
        const Signature = k.usage === 'SIGN_VERIFY' ? (await c.send(new SignCommand(request))).Signature! : randomBytes(64);
        assert.equal((await c.send(new VerifyCommand({ ...request, Signature }))).SignatureValid, true);
      },
    },
    GenerateMac: {
      expect: (k) => usage(k, 'GENERATE_VERIFY_MAC'),
      call: (c, KeyId, k) => c.send(new GenerateMacCommand({ KeyId, Message: message, MacAlgorithm: macAlgorithm(k) })),
    },
    VerifyMac: {
      expect: (k) => usage(k, 'GENERATE_VERIFY_MAC'),
      call: async (c, KeyId, k) => {
        const request = { KeyId, Message: message, MacAlgorithm: macAlgorithm(k) };
        const Mac = k.usage === 'GENERATE_VERIFY_MAC' ? (await c.send(new GenerateMacCommand(request))).Mac! : randomBytes(32);
        assert.equal((await c.send(new VerifyMacCommand({ ...request, Mac }))).MacValid, true);
      },
    },
    DeriveSharedSecret: {
      expect: (k) => usage(k, 'KEY_AGREEMENT'),
      call: (c, KeyId, k) => c.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerPublicKey(k) })),
    },
    GetPublicKey: { expect: (k) => when(asymmetric(k), 'UnsupportedOperationException'), call: (c, KeyId) => c.send(new GetPublicKeyCommand({ KeyId })) },
    GetKeyRotationStatus: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        assert.equal((await c.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, false);
      },
    },
    EnableKeyRotation: {
      expect: (k) => when(rotatesAutomatically(k), 'UnsupportedOperationException'),
      call: (c, KeyId) => c.send(new EnableKeyRotationCommand({ KeyId })),
    },
    DisableKeyRotation: {
      expect: (k) => when(rotatesAutomatically(k), 'UnsupportedOperationException'),
      call: (c, KeyId) => c.send(new DisableKeyRotationCommand({ KeyId })),
    },
    RotateKeyOnDemand: {
      // Imported material rotates on demand only to material imported for it first (KMSInvalidStateException without).
      expect: (k) => (k.imported ? 'KMSInvalidStateException' : when(symmetric(k), 'UnsupportedOperationException')),
      call: (c, KeyId) => c.send(new RotateKeyOnDemandCommand({ KeyId })),
    },
    ListKeyRotations: {
      expect: (k) => when(symmetric(k), 'UnsupportedOperationException'),
      call: (c, KeyId) => c.send(new ListKeyRotationsCommand({ KeyId })),
    },
    GetParametersForImport: {
      expect: (k) => when(k.imported === true, 'UnsupportedOperationException'),
      call: (c, KeyId) => c.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })),
    },
    ImportKeyMaterial: {
      // The imported key's own import is exercised where it is made; here the origin check alone.
      expect: (k) => when(k.imported === true, 'UnsupportedOperationException'),
      call: async (c, KeyId, k) => {
        if (k.imported) return;
        await c.send(
          new ImportKeyMaterialCommand({
            KeyId,
            ImportToken: randomBytes(64),
            EncryptedKeyMaterial: randomBytes(256),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        );
      },
    },
    ReplicateKey: { expect: () => 'UnsupportedOperationException', call: (c, KeyId) => c.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: 'us-west-2' })) },
    UpdatePrimaryRegion: {
      expect: () => 'UnsupportedOperationException',
      call: (c, KeyId) => c.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: 'us-west-2' })),
    },
    ListKeyPolicies: { expect: () => 'ok', call: (c, KeyId) => c.send(new ListKeyPoliciesCommand({ KeyId })) },
    PutKeyPolicy: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        const { Policy } = await c.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }));
        await c.send(new PutKeyPolicyCommand({ KeyId, PolicyName: 'default', Policy }));
      },
    },
    Tags: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        await c.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'matrix', TagValue: 'yes' }] }));
        assert.equal((await c.send(new ListResourceTagsCommand({ KeyId }))).Tags?.length, 1);
        await c.send(new UntagResourceCommand({ KeyId, TagKeys: ['matrix'] }));
      },
    },
    UpdateKeyDescription: { expect: () => 'ok', call: (c, KeyId) => c.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'matrix' })) },
    Aliases: {
      expect: () => 'ok',
      call: async (c, TargetKeyId) => {
        const AliasName = `alias/matrix-${randomBytes(6).toString('hex')}`;
        await c.send(new CreateAliasCommand({ AliasName, TargetKeyId }));
        await c.send(new UpdateAliasCommand({ AliasName, TargetKeyId }));
        await c.send(new DeleteAliasCommand({ AliasName }));
      },
    },
    Grants: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        const { GrantId } = await c.send(
          new CreateGrantCommand({ KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:user/admin', Operations: ['DescribeKey'] }),
        );
        assert.equal((await c.send(new ListGrantsCommand({ KeyId }))).Grants?.length, 1);
        await c.send(new RevokeGrantCommand({ KeyId, GrantId }));
      },
    },
    DisableAndEnableKey: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        await c.send(new DisableKeyCommand({ KeyId }));
        await c.send(new EnableKeyCommand({ KeyId }));
      },
    },
    DeleteImportedKeyMaterial: {
      expect: (k) => when(k.imported === true, 'UnsupportedOperationException'),
      call: (c, KeyId) => c.send(new DeleteImportedKeyMaterialCommand({ KeyId })),
    },
    ScheduleAndCancelKeyDeletion: {
      expect: () => 'ok',
      call: async (c, KeyId) => {
        await c.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
        await c.send(new CancelKeyDeletionCommand({ KeyId }));
      },
    },
  };

  const answer = async (call: () => Promise<unknown>): Promise<string> => {
    try {
      await call();
      return 'ok';
    } catch (error) {
      return (error as Error).name;
    }
  };

  const createKey = async (k: KeyKind, MultiRegion = false): Promise<string> => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: k.spec, KeyUsage: k.usage, MultiRegion, ...(k.imported ? { Origin: 'EXTERNAL' } : {}) }),
    );
    if (k.imported) await importKeyMaterial(kms, KeyMetadata!.KeyId!, randomBytes(32));
    return KeyMetadata!.KeyId!;
  };

  it('answers each operation on a single-Region key of each kind with what AWS documents', async () => {
    const differences: string[] = [];
    await Promise.all(
      KINDS.map(async (k) => {
        const KeyId = await createKey(k);
        for (const [operation, cell] of Object.entries(OPERATIONS)) {
          const expected = cell.expect(k);
          const actual = await answer(() => cell.call(kms, KeyId, k));
          if (actual !== expected) differences.push(`${k.name} × ${operation}: expected ${expected}, got ${actual}`);
        }
      }),
    );
    assert.deepEqual(differences.sort(), []);
  });

  it('replicates a multi-Region key of every spec', async () => {
    const differences: string[] = [];
    await Promise.all(
      KINDS.map(async (k) => {
        const KeyId = await createKey(k, true);
        const actual = await answer(() => kms.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: 'us-west-2' })));
        if (actual !== 'ok') differences.push(`${k.name} × ReplicateKey: expected ok, got ${actual}`);
      }),
    );
    assert.deepEqual(differences.sort(), []);
  });
});
