import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, EnableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';

describe('symmetric keys through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  before(async () => {
    dev = await startDev();
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  it('creates a key, encrypts and decrypts with its encryption context', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'e2e' }));
    assert.equal(KeyMetadata?.KeyState, 'Enabled');
    assert.equal(KeyMetadata.KeySpec, 'SYMMETRIC_DEFAULT');
    const plaintext = Buffer.from('attack at dawn');
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: KeyMetadata.KeyId, Plaintext: plaintext, EncryptionContext: { purpose: 'e2e' } }));
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'e2e' } }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), plaintext);
    assert.equal(decrypted.KeyId, KeyMetadata.Arn);
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { purpose: 'other' } })), {
      name: 'InvalidCiphertextException',
    });
  });

  it('refuses cryptography with a disabled key and allows it again once enabled', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const KeyId = KeyMetadata!.KeyId!;
    await kms.send(new DisableKeyCommand({ KeyId }));
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata?.KeyState, 'Disabled');
    await assert.rejects(kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'DisabledException' });
    await kms.send(new EnableKeyCommand({ KeyId }));
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    assert.ok(CiphertextBlob && CiphertextBlob.length > 16);
  });
});
