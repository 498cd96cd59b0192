import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DecryptCommand, DeleteImportedKeyMaterialCommand, EncryptCommand, RotateKeyOnDemandCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';
import { importKeyMaterial, keyState, replicatedExternalKey } from './key-material-import.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;

/** Each region decrypts what the other encrypted. */
async function interoperate(a: KMSClient, b: KMSClient, KeyId: string): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const { CiphertextBlob } = await from.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('across regions') }));
    assert.equal(Buffer.from((await to.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'across regions');
  }
}

describe('imported key material of multi-Region keys is the same in every region', () => {
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

  it('accepts the same material in the primary and then the replica, and each region decrypts what the other encrypted', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const material = randomBytes(32);
    const inPrimary = await importKeyMaterial(east, KeyId, material);
    const inReplica = await importKeyMaterial(west, KeyId, material);
    assert.equal(inReplica.KeyMaterialId, inPrimary.KeyMaterialId);
    await interoperate(east, west, KeyId);
  });

  it('accepts the same material in the replica first, then refuses other material in the primary and takes the same', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const material = randomBytes(32);
    await importKeyMaterial(west, KeyId, material);
    assert.equal(await keyState(east, KeyId), 'PendingImport');

    await assert.rejects(importKeyMaterial(east, KeyId, randomBytes(32)), { name: 'IncorrectKeyMaterialException' });
    assert.equal(await keyState(east, KeyId), 'PendingImport');
    await importKeyMaterial(east, KeyId, material);
    await interoperate(west, east, KeyId);
  });

  it('refuses other material in the replica and leaves the replica as it was', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const material = randomBytes(32);
    await importKeyMaterial(east, KeyId, material);
    await assert.rejects(importKeyMaterial(west, KeyId, randomBytes(32)), (error: Error) => {
      assert.equal(error.name, 'IncorrectKeyMaterialException');
      assert.match(error.message, /import the same key material into the primary key and each of its replica keys/);
      return true;
    });
    assert.equal(await keyState(west, KeyId), 'PendingImport');

    await importKeyMaterial(west, KeyId, material);
    const { CiphertextBlob } = await west.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('still readable') }));
    await assert.rejects(importKeyMaterial(west, KeyId, randomBytes(32)), { name: 'IncorrectKeyMaterialException' });
    assert.equal(await keyState(west, KeyId), 'Enabled');
    assert.equal(Buffer.from((await west.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'still readable');
  });

  it('takes new material for a rotation into the primary first, then only that material into the replica', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const first = randomBytes(32);
    await importKeyMaterial(east, KeyId, first);
    await importKeyMaterial(west, KeyId, first);
    const next = randomBytes(32);
    await assert.rejects(importKeyMaterial(west, KeyId, next, { ImportType: 'NEW_KEY_MATERIAL' }), (error: Error) => {
      assert.equal(error.name, 'UnsupportedOperationException');
      assert.match(error.message, /imported into its primary key first, in us-east-1/);
      return true;
    });

    await importKeyMaterial(east, KeyId, next, { ImportType: 'NEW_KEY_MATERIAL' });
    await assert.rejects(importKeyMaterial(west, KeyId, randomBytes(32), { ImportType: 'EXISTING_KEY_MATERIAL' }), { name: 'IncorrectKeyMaterialException' });
    await importKeyMaterial(west, KeyId, next, { ImportType: 'EXISTING_KEY_MATERIAL' });
    await east.send(new RotateKeyOnDemandCommand({ KeyId }));
    await interoperate(east, west, KeyId);
  });

  it('lets the primary replace new material it deleted before rotating, and the replica then takes only the replacement', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const first = randomBytes(32);
    await importKeyMaterial(east, KeyId, first);
    await importKeyMaterial(west, KeyId, first);
    const dropped = await importKeyMaterial(east, KeyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    await east.send(new DeleteImportedKeyMaterialCommand({ KeyId, KeyMaterialId: dropped.KeyMaterialId }));

    const replacement = randomBytes(32);
    await importKeyMaterial(east, KeyId, replacement, { ImportType: 'NEW_KEY_MATERIAL' });
    await importKeyMaterial(west, KeyId, replacement, { ImportType: 'EXISTING_KEY_MATERIAL' });
    await east.send(new RotateKeyOnDemandCommand({ KeyId }));
    await interoperate(east, west, KeyId);
  });
});
