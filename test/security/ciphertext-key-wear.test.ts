import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { eventually } from '../e2e/eventually.ts';
import { startDev, type DevDeployment } from '../e2e/harness.ts';
import { importKeyMaterial } from '../e2e/key-material-import.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'];

/** Where a version 2 blob keeps its 32-byte salt: after version, key ID length, key ID and material version. */
const saltStart = (blob: Uint8Array): number => 2 + blob[1]! + 4;
const saltOf = (blob: Uint8Array): Buffer => Buffer.from(blob).subarray(saltStart(blob), saltStart(blob) + 32);

/**
 * A ciphertext as Concord wrote it before blob version 2, made here from the format alone:
 * version 1 | key ID length | key ID | material version | iv | tag | AES-256-GCM under the key
 * material itself, with the header and the encryption context as AAD.
 */
function versionOneBlob(material: Buffer, keyId: string, materialVersion: number, plaintext: Buffer, context: Record<string, string>): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  const header = Buffer.concat([Buffer.from([1, id.length]), id, Buffer.alloc(4)]);
  header.writeUInt32BE(materialVersion, 2 + id.length);
  const encodedContext = Object.keys(context)
    .sort()
    .flatMap((key) => [key, context[key]!])
    .flatMap((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, ...encodedContext]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
}

describe('ciphertexts do not wear out their key material', () => {
  let dev: DevDeployment;
  let east: KMSClient;
  let west: KMSClient;
  before(async () => {
    dev = await startDev({ regions: [EAST, WEST] });
    east = dev.client(EAST);
    west = dev.client(WEST);
  });
  after(async () => {
    await dev.stop();
  });

  it('never encrypts two messages under the same GCM key: each ciphertext carries its own salt, in every region', async () => {
    const KeyId = (await east.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    const Plaintext = Buffer.from('the same message twice');
    const blobs = [
      (await east.send(new EncryptCommand({ KeyId, Plaintext }))).CiphertextBlob!,
      (await east.send(new EncryptCommand({ KeyId, Plaintext }))).CiphertextBlob!,
      (await east.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }))).CiphertextBlob!,
    ];
    for (const blob of blobs) assert.equal(blob[0], 2, 'ciphertext blob version');
    assert.equal(new Set(blobs.map((blob) => saltOf(blob).toString('hex'))).size, blobs.length);
    for (const blob of blobs.slice(0, 2)) assert.deepEqual(Buffer.from((await east.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!), Plaintext);

    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      const decrypted = await west.send(new DecryptCommand({ CiphertextBlob: blobs[0] }));
      assert.deepEqual(Buffer.from(decrypted.Plaintext!), Plaintext);
    });
    const fromWest = (await west.send(new EncryptCommand({ KeyId, Plaintext }))).CiphertextBlob!;
    assert.equal(fromWest[0], 2);
    assert.deepEqual(Buffer.from((await east.send(new DecryptCommand({ CiphertextBlob: fromWest }))).Plaintext!), Plaintext);
  });

  it('refuses a ciphertext whose salt was altered, as it refuses any altered byte', async () => {
    const KeyId = (await east.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await east.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('salted'), EncryptionContext: { app: 'wear' } }))).CiphertextBlob!;
    assert.equal(blob[0], 2, 'ciphertext blob version');
    for (const offset of [saltStart(blob), saltStart(blob) + 31]) {
      const tampered = Buffer.from(blob);
      tampered[offset]! ^= 0x80;
      await assert.rejects(east.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: { app: 'wear' } })), {
        name: 'InvalidCiphertextException',
      });
      await assert.rejects(east.send(new ReEncryptCommand({ CiphertextBlob: tampered, SourceEncryptionContext: { app: 'wear' }, DestinationKeyId: KeyId })), {
        name: 'InvalidCiphertextException',
      });
    }
  });

  it('keeps decrypting ciphertexts written before blob version 2, and re-encrypts them into version 2', async () => {
    const material = randomBytes(32);
    const KeyId = (await east.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await importKeyMaterial(east, KeyId, material);
    const fresh = (await east.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('new') }))).CiphertextBlob!;
    assert.equal(fresh[0], 2, 'ciphertext blob version');
    const materialVersion = Buffer.from(fresh).readUInt32BE(2 + fresh[1]!);

    const context = { purpose: 'written by Concord before blob v2' };
    const old = versionOneBlob(material, KeyId, materialVersion, Buffer.from('old ciphertext'), context);
    const decrypted = await east.send(new DecryptCommand({ CiphertextBlob: old, EncryptionContext: context }));
    assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'old ciphertext');
    await assert.rejects(east.send(new DecryptCommand({ CiphertextBlob: old, EncryptionContext: { purpose: 'another' } })), {
      name: 'InvalidCiphertextException',
    });

    const reencrypted = (await east.send(new ReEncryptCommand({ CiphertextBlob: old, SourceEncryptionContext: context, DestinationKeyId: KeyId })))
      .CiphertextBlob!;
    assert.equal(reencrypted[0], 2);
    assert.equal(Buffer.from((await east.send(new DecryptCommand({ CiphertextBlob: reencrypted }))).Plaintext!).toString(), 'old ciphertext');
  });
});
