import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, CreateKeyCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, freePorts, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../../test/e2e/harness.ts';
import { AwsKmsAdapter, MANAGED_KEY_TAG } from './aws-kms-adapter.ts';
import { keystoreAdapterSuite } from './keystore-adapter.suite.ts';

const REGION = 'eu-west-1';
const connection = (endpoint: string) => ({
  aws_region: REGION,
  aws_access_key_id: ACCESS_KEY_ID,
  aws_secret_access_key: SECRET_ACCESS_KEY,
  aws_endpoint: endpoint,
});

let dev: DevDeployment | undefined;
before(async () => {
  dev = await startDev({ regions: [REGION] });
});
after(async () => {
  await dev?.stop();
});

keystoreAdapterSuite('aws_kms (a Concord region through its AWS KMS API)', async () => {
  const closedPort = await freePorts(1);
  return {
    adapter: new AwsKmsAdapter(connection(dev!.endpoint())),
    unreachable: new AwsKmsAdapter(connection(`http://127.0.0.1:${closedPort}`)),
    unknownKeyId: randomUUID(),
    close: () => Promise.resolve(),
  };
});

describe('aws_kms keystore adapter, what is particular to AWS KMS', () => {
  it('creates the key with external origin, tagged with the managed key it copies', async () => {
    const adapter = new AwsKmsAdapter(connection(dev!.endpoint()));
    const managedKeyId = randomUUID();
    const keyId = (await adapter.create({ managedKeyId, version: 1, label: 'tagged', description: 'a copy', material: randomBytes(32) })).keyIdInKeystore;
    const kms = dev!.client(REGION);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(KeyMetadata?.Origin, 'EXTERNAL');
    assert.equal(KeyMetadata.Description, 'a copy');
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    assert.deepEqual(
      Tags?.find((tag) => tag.TagKey === MANAGED_KEY_TAG),
      { TagKey: MANAGED_KEY_TAG, TagValue: managedKeyId },
    );
  });

  it('completes a create interrupted after the key and its alias were made, instead of making another key', async () => {
    const kms = dev!.client(REGION);
    const managedKeyId = randomUUID();
    const interrupted = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: `alias/uko/${managedKeyId}/v1`, TargetKeyId: interrupted }));
    const adapter = new AwsKmsAdapter(connection(dev!.endpoint()));
    assert.equal(
      (await adapter.create({ managedKeyId, version: 1, label: 'resumed', description: '', material: randomBytes(32) })).keyIdInKeystore,
      interrupted,
    );
    assert.equal(await adapter.describe(interrupted), 'enabled');
  });

  it('puts the material back into a key whose material was deleted', async () => {
    const adapter = new AwsKmsAdapter(connection(dev!.endpoint()));
    const material = randomBytes(32);
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'reimported', description: '', material })).keyIdInKeystore;
    await dev!.client(REGION).send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    assert.equal(await adapter.describe(keyId), 'pending_import');
    await adapter.importMaterial(keyId, material);
    assert.equal(await adapter.describe(keyId), 'enabled');
  });

  it('refuses other material for a key than the material it was created with', async () => {
    const adapter = new AwsKmsAdapter(connection(dev!.endpoint()));
    const keyId = (await adapter.create({ managedKeyId: randomUUID(), version: 1, label: 'first material', description: '', material: randomBytes(32) }))
      .keyIdInKeystore;
    await dev!.client(REGION).send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    await assert.rejects(adapter.importMaterial(keyId, randomBytes(32)), { name: 'IncorrectKeyMaterialException' });
  });
});
