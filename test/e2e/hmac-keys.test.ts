import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  SignCommand,
  VerifyMacCommand,
  type KMSClient,
  type MacAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';

describe('HMAC keys through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  for (const bits of [224, 256, 384, 512] as const) {
    const MacAlgorithm = `HMAC_SHA_${bits}` as MacAlgorithmSpec;
    it(`HMAC_${bits} MACs verify, a flipped byte does not, and different messages differ`, async () => {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: `HMAC_${bits}`, KeyUsage: 'GENERATE_VERIFY_MAC' }));
      assert.deepEqual(KeyMetadata!.MacAlgorithms, [MacAlgorithm]);
      assert.equal(KeyMetadata!.EncryptionAlgorithms, undefined);
      const KeyId = KeyMetadata!.KeyId!;
      const Message = Buffer.from('message to authenticate');
      const generated = await kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm }));
      assert.equal(generated.Mac!.length, bits / 8);
      assert.equal(generated.MacAlgorithm, MacAlgorithm);
      assert.equal(generated.KeyId, KeyMetadata!.Arn);
      const again = await kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm }));
      assert.deepEqual(Buffer.from(again.Mac!), Buffer.from(generated.Mac!));
      const verified = await kms.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm, Mac: generated.Mac }));
      assert.equal(verified.MacValid, true);
      const flipped = Buffer.from(generated.Mac!);
      flipped[0]! ^= 1;
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm, Mac: flipped })), { name: 'KMSInvalidMacException' });
      await assert.rejects(kms.send(new VerifyMacCommand({ KeyId, Message, MacAlgorithm, Mac: generated.Mac!.subarray(1) })), {
        name: 'KMSInvalidMacException',
      });
      const other = await kms.send(new GenerateMacCommand({ KeyId, Message: Buffer.from('message to authenticatf'), MacAlgorithm }));
      assert.notDeepEqual(Buffer.from(other.Mac!), Buffer.from(generated.Mac!));
    });
  }

  it('gives different keys different MACs for the same message', async () => {
    const macs = [];
    for (let i = 0; i < 2; i += 1) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }));
      macs.push(
        Buffer.from((await kms.send(new GenerateMacCommand({ KeyId: KeyMetadata!.KeyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }))).Mac!),
      );
    }
    assert.notDeepEqual(macs[0], macs[1]);
  });

  it('refuses the wrong MAC algorithm, MACs with other keys and other operations with an HMAC key', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }));
    const KeyId = KeyMetadata!.KeyId!;
    const Message = Buffer.from('m');
    await assert.rejects(kms.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm: 'HMAC_SHA_384' })), { name: 'InvalidKeyUsageException' });
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await assert.rejects(kms.send(new GenerateMacCommand({ KeyId: symmetric, Message, MacAlgorithm: 'HMAC_SHA_256' })), {
      name: 'InvalidKeyUsageException',
    });
    await assert.rejects(kms.send(new EncryptCommand({ KeyId, Plaintext: Message })), { name: 'InvalidKeyUsageException' });
    await assert.rejects(kms.send(new SignCommand({ KeyId, Message, SigningAlgorithm: 'ECDSA_SHA_256' })), { name: 'InvalidKeyUsageException' });
    await assert.rejects(kms.send(new GetPublicKeyCommand({ KeyId })), { name: 'UnsupportedOperationException' });
  });
});
