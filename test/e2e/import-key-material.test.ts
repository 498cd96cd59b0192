import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCipheriv, createDecipheriv, createHmac, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, verify } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type AlgorithmSpec,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';
import { importKeyMaterial, prepareImport, wrapKeyMaterial } from './key-material-import.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The header of Concord's ciphertext blob, from its documented format: blob version | id length | key ID | u32 material version (version 2 then has a 32-byte salt). */
function blobHeader(keyId: string, materialVersion: number, blobVersion = 1): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(materialVersion);
  return Buffer.concat([Buffer.from([blobVersion, keyId.length]), Buffer.from(keyId, 'ascii'), version]);
}

/** The encryption context bound as AAD: pairs sorted by key, each string u32-length-prefixed. */
function contextAad(context: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.keys(context)
      .sort()
      .flatMap((name) => [name, context[name]!])
      .flatMap((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return [length, bytes];
      }),
  );
}

describe('imported key material through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  const createExternalKey = async (): Promise<string> => (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  const describe = async (KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const prepare = (KeyId: string, material: Buffer, algorithm?: AlgorithmSpec) => prepareImport(kms, KeyId, material, algorithm);
  const importMaterial = (KeyId: string, material: Buffer, extra?: Partial<ImportKeyMaterialCommandInput>) => importKeyMaterial(kms, KeyId, material, extra);

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  it('answers an RSA wrapping key of the requested size and an import token valid for 24 hours', async () => {
    const KeyId = await createExternalKey();
    for (const [spec, bits] of [
      ['RSA_2048', 2048],
      ['RSA_3072', 3072],
      ['RSA_4096', 4096],
    ] as const) {
      const requestedAt = Date.now();
      const answer = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: spec }));
      assert.equal(answer.KeyId, (await describe(KeyId)).Arn);
      const publicKey = createPublicKey({ key: Buffer.from(answer.PublicKey!), format: 'der', type: 'spki' });
      assert.equal(publicKey.asymmetricKeyType, 'rsa');
      assert.equal(publicKey.asymmetricKeyDetails?.modulusLength, bits);
      assert.ok(Math.abs(answer.ParametersValidTo!.getTime() - (requestedAt + DAY_MS)) < 60_000);
      assert.ok(answer.ImportToken!.length > 16);
    }
  });

  it('imports with every wrapping algorithm and moves the key from PendingImport to Enabled', async () => {
    for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const) {
      const KeyId = await createExternalKey();
      const created = await describe(KeyId);
      assert.equal(created.KeyState, 'PendingImport');
      assert.equal(created.ExpirationModel, undefined);
      await assert.rejects(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'KMSInvalidStateException' });

      const answer = await kms.send(
        new ImportKeyMaterialCommand({ ...(await prepare(KeyId, randomBytes(32), algorithm)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
      );
      assert.equal(answer.KeyId, created.Arn);
      assert.match(answer.KeyMaterialId!, /^[0-9a-f]{64}$/);
      const imported = await describe(KeyId);
      assert.equal(imported.KeyState, 'Enabled', algorithm);
      assert.equal(imported.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
      assert.equal(imported.ValidTo, undefined);
      assert.equal(imported.CurrentKeyMaterialId, answer.KeyMaterialId);
    }
  });

  it('encrypts exactly as a local AES-256-GCM reference with the imported key', async () => {
    const KeyId = await createExternalKey();
    const known = randomBytes(32);
    await importMaterial(KeyId, known);
    const context = { tenant: 'acme', purpose: 'reference' };

    const header = blobHeader(KeyId, 1);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', known, iv);
    cipher.setAAD(Buffer.concat([header, contextAad(context)]));
    const body = Buffer.concat([cipher.update('sealed locally'), cipher.final()]);
    const localBlob = Buffer.concat([header, iv, cipher.getAuthTag(), body]);
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: localBlob, EncryptionContext: context }));
    assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'sealed locally');

    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('sealed by Concord'), EncryptionContext: context }));
    // Concord writes blob version 2: the header, a salt, and GCM under HKDF-SHA256(material, salt).
    const blob = Buffer.from(CiphertextBlob!);
    const v2Header = blobHeader(KeyId, 1, 2);
    assert.deepEqual(blob.subarray(0, v2Header.length), v2Header);
    const aad = blob.subarray(0, v2Header.length + 32);
    const key = Buffer.from(hkdfSync('sha256', known, aad.subarray(v2Header.length), 'concord ciphertext blob v2', 32));
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(aad.length, aad.length + 12));
    decipher.setAAD(Buffer.concat([aad, contextAad(context)]));
    decipher.setAuthTag(blob.subarray(aad.length + 12, aad.length + 28));
    const opened = Buffer.concat([decipher.update(blob.subarray(aad.length + 28)), decipher.final()]);
    assert.equal(opened.toString(), 'sealed by Concord');
  });

  it('re-imports the same material with new terms but refuses different material', async () => {
    const KeyId = await createExternalKey();
    const material = randomBytes(32);
    const first = await importMaterial(KeyId, material);
    const validTo = new Date(Math.floor((Date.now() + 30 * DAY_MS) / 1000) * 1000);
    const again = await importMaterial(KeyId, material, { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
    assert.equal(again.KeyMaterialId, first.KeyMaterialId);
    const metadata = await describe(KeyId);
    assert.equal(metadata.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
    assert.equal(metadata.ValidTo?.getTime(), validTo.getTime());
    await assert.rejects(importMaterial(KeyId, randomBytes(32)), { name: 'IncorrectKeyMaterialException' });
    await assert.rejects(importMaterial(KeyId, material, { KeyMaterialId: 'f'.repeat(64) }), { name: 'IncorrectKeyMaterialException' });
    await assert.rejects(importMaterial(KeyId, material, { ImportType: 'NEW_KEY_MATERIAL' }), { name: 'IncorrectKeyMaterialException' });
  });

  it('applies the ExpirationModel and ValidTo rules', async () => {
    const KeyId = await createExternalKey();
    const material = randomBytes(32);
    const future = new Date(Date.now() + DAY_MS);
    const cases: [Partial<ImportKeyMaterialCommandInput>, string][] = [
      [{ ExpirationModel: 'KEY_MATERIAL_EXPIRES' }, 'ValidTo is required'],
      [{ ExpirationModel: undefined }, 'ValidTo is required'],
      [{ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: future }, 'must be omitted'],
      [{ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() - 60_000) }, 'future'],
      [{ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(Date.now() + 366 * DAY_MS) }, '365 days'],
    ];
    for (const [terms, message] of cases) {
      await assert.rejects(importMaterial(KeyId, material, terms), (error: Error) => {
        assert.equal(error.name, 'ValidationException');
        assert.match(error.message, new RegExp(message));
        return true;
      });
    }
    await importMaterial(KeyId, material, { ExpirationModel: undefined, ValidTo: future });
    assert.equal((await describe(KeyId)).ExpirationModel, 'KEY_MATERIAL_EXPIRES');
  });

  it('refuses import tokens of another key, garbled tokens, wrongly wrapped and wrongly sized material', async () => {
    const KeyId = await createExternalKey();
    const other = await createExternalKey();
    const forOther = await prepare(other, randomBytes(32));
    const terms = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } as const;
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ ...forOther, KeyId, ...terms })), { name: 'InvalidImportTokenException' });
    const garbled = Buffer.from(forOther.ImportToken);
    garbled[garbled.length - 1]! ^= 1;
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ ...forOther, ImportToken: garbled, ...terms })), { name: 'InvalidImportTokenException' });
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ ...forOther, ImportToken: randomBytes(40), ...terms })), {
      name: 'InvalidImportTokenException',
    });

    const parameters = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrongAlgorithm = wrapKeyMaterial(parameters.PublicKey!, 'RSAES_OAEP_SHA_1', randomBytes(32));
    await assert.rejects(
      kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: wrongAlgorithm, ...terms })),
      {
        name: 'InvalidCiphertextException',
      },
    );
    const short = wrapKeyMaterial(parameters.PublicKey!, 'RSAES_OAEP_SHA_256', randomBytes(16));
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: short, ...terms })), {
      name: 'IncorrectKeyMaterialException',
    });
    assert.equal((await describe(KeyId)).KeyState, 'PendingImport');
  });

  it('refuses import operations on keys whose material Concord generated, and unsupported wrapping choices', async () => {
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await assert.rejects(kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })), {
      name: 'UnsupportedOperationException',
    });
    await assert.rejects(kms.send(new DeleteImportedKeyMaterialCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    const external = await createExternalKey();
    const forExternal = await prepare(external, randomBytes(32));
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ ...forExternal, KeyId, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })), {
      name: 'UnsupportedOperationException',
    });
    await assert.rejects(kms.send(new GetParametersForImportCommand({ KeyId: external, WrappingAlgorithm: 'RSAES_PKCS1_V1_5', WrappingKeySpec: 'RSA_2048' })), {
      name: 'ValidationException',
    });
    await assert.rejects(kms.send(new GetParametersForImportCommand({ KeyId: external, WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'SM2' })), {
      name: 'ValidationException',
    });
  });

  it('deletes imported material back to PendingImport, and re-importing it restores earlier ciphertext', async () => {
    const KeyId = await createExternalKey();
    const material = randomBytes(32);
    const { KeyMaterialId } = await importMaterial(KeyId, material);
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('kept') }));

    const deleted = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId }));
    assert.equal(deleted.KeyMaterialId, KeyMaterialId);
    assert.equal(deleted.KeyId, (await describe(KeyId)).Arn);
    assert.equal((await describe(KeyId)).KeyState, 'PendingImport');
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob })), { name: 'KMSInvalidStateException' });
    const [entry] = (await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
    assert.equal(entry?.ImportState, 'PENDING_IMPORT');
    await assert.rejects(kms.send(new DeleteImportedKeyMaterialCommand({ KeyId, KeyMaterialId: 'a'.repeat(64) })), { name: 'NotFoundException' });

    await importMaterial(KeyId, material);
    assert.equal((await describe(KeyId)).KeyState, 'Enabled');
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'kept');
  });

  it('rotates on demand to newly imported material; every earlier version still decrypts', async () => {
    const KeyId = await createExternalKey();
    const first = randomBytes(32);
    const second = randomBytes(32);
    const firstImport = await importMaterial(KeyId, first);
    await assert.rejects(kms.send(new RotateKeyOnDemandCommand({ KeyId })), { name: 'KMSInvalidStateException' });
    const old = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('first material') }));

    const secondImport = await importMaterial(KeyId, second, { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'second' });
    assert.notEqual(secondImport.KeyMaterialId, firstImport.KeyMaterialId);
    const pending = await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    assert.deepEqual(
      pending.Rotations!.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState, r.KeyMaterialDescription]),
      [
        [firstImport.KeyMaterialId, 'CURRENT', 'IMPORTED', undefined],
        [secondImport.KeyMaterialId, 'PENDING_ROTATION', 'IMPORTED', 'second'],
      ],
    );
    await assert.rejects(importMaterial(KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }), { name: 'KMSInvalidStateException' });
    assert.equal(Buffer.from((await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!).readUInt32BE(2 + KeyId.length), 1);

    await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    assert.equal((await describe(KeyId)).CurrentKeyMaterialId, secondImport.KeyMaterialId);
    const fresh = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('second material') }));
    assert.equal(Buffer.from(fresh.CiphertextBlob!).readUInt32BE(2 + KeyId.length), 2);
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).Plaintext!).toString(), 'first material');
    const [rotation] = (await kms.send(new ListKeyRotationsCommand({ KeyId }))).Rotations!;
    assert.equal(rotation?.RotationType, 'ON_DEMAND');
    assert.equal(rotation.KeyMaterialId, secondImport.KeyMaterialId);

    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId, KeyMaterialId: firstImport.KeyMaterialId }));
    assert.equal((await describe(KeyId)).KeyState, 'PendingImport', 'every bound material must be present');
    await importMaterial(KeyId, first, { KeyMaterialId: firstImport.KeyMaterialId });
    assert.equal((await describe(KeyId)).KeyState, 'Enabled');
  });

  it('imports HMAC key material that computes the same MACs as node:crypto', async () => {
    const KeyId = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await assert.rejects(importMaterial(KeyId, randomBytes(16)), { name: 'IncorrectKeyMaterialException' });
    await assert.rejects(importMaterial(KeyId, randomBytes(48), { ImportType: 'NEW_KEY_MATERIAL' }), { name: 'ValidationException' });
    const material = randomBytes(48);
    await importMaterial(KeyId, material);
    assert.equal((await describe(KeyId)).KeyState, 'Enabled');
    const Message = Buffer.from('message to authenticate');
    const { Mac } = await kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' }));
    assert.deepEqual(Buffer.from(Mac!), createHmac('sha256', material).update(Message).digest());
    await assert.rejects(importMaterial(KeyId, randomBytes(48)), { name: 'IncorrectKeyMaterialException' });
  });

  it('imports ECC and RSA private keys whose public keys and signatures match the local key pairs', async () => {
    const cases = [
      {
        KeySpec: 'ECC_NIST_P256',
        pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
        algorithm: 'RSAES_OAEP_SHA_256',
        SigningAlgorithm: 'ECDSA_SHA_256',
      },
      {
        KeySpec: 'RSA_2048',
        pair: generateKeyPairSync('rsa', { modulusLength: 2048 }),
        algorithm: 'RSA_AES_KEY_WRAP_SHA_256',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      },
    ] as const;
    for (const { KeySpec, pair, algorithm, SigningAlgorithm } of cases) {
      const KeyId = (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
      const privateKey = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      await kms.send(new ImportKeyMaterialCommand({ ...(await prepare(KeyId, privateKey, algorithm)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
      const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId }));
      assert.deepEqual(Buffer.from(PublicKey!), pair.publicKey.export({ format: 'der', type: 'spki' }), KeySpec);
      const Message = Buffer.from(`signed with imported ${KeySpec}`);
      const { Signature } = await kms.send(new SignCommand({ KeyId, Message, MessageType: 'RAW', SigningAlgorithm }));
      assert.ok(verify('sha256', Message, pair.publicKey, Buffer.from(Signature!)), KeySpec);
    }
    const p256 = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    await assert.rejects(importMaterial(p256, p384), { name: 'IncorrectKeyMaterialException' });
  });

  it('keeps a key pending deletion in that state when its material is deleted, and refuses new imports meanwhile', async () => {
    const KeyId = await createExternalKey();
    const material = randomBytes(32);
    await importMaterial(KeyId, material);
    const prepared = await prepare(KeyId, material);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId }));
    assert.equal((await describe(KeyId)).KeyState, 'PendingDeletion');
    await assert.rejects(kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })), {
      name: 'KMSInvalidStateException',
    });
    await assert.rejects(kms.send(new ImportKeyMaterialCommand({ ...prepared, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })), {
      name: 'KMSInvalidStateException',
    });
  });

  it('forgets deleted material that was only pending rotation', async () => {
    const KeyId = await createExternalKey();
    await importMaterial(KeyId, randomBytes(32));
    const pending = await importMaterial(KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId, KeyMaterialId: pending.KeyMaterialId }));
    assert.equal((await describe(KeyId)).KeyState, 'Enabled');
    const all = await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    assert.equal(all.Rotations!.length, 1);
    const replacement = await importMaterial(KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    assert.notEqual(replacement.KeyMaterialId, pending.KeyMaterialId);
  });
});
