import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeCustomKeyStoresCommand,
  EncryptCommand,
  KMSClient,
  UpdateCustomKeyStoreCommand,
  DisconnectCustomKeyStoreCommand,
} from '@aws-sdk/client-kms';
import { ADMIN, KMS_ONLY, KMSUSER_PASSWORD, OUTSIDER, REGION, startCustomKeyStoreRegion, type CustomKeyStoreRegion } from '../e2e/custom-key-store-region.ts';

/**
 * A custom key store belongs to its account and region, and names a cluster: callers of another
 * account cannot use its keys or put keys in it, and a caller who may not see the clusters
 * (cloudhsm:DescribeClusters, which AWS asks of CreateCustomKeyStore and UpdateCustomKeyStore)
 * cannot tie a store to one.
 */
describe('custom key stores are out of reach of other accounts and of callers who cannot see the cluster', () => {
  let region: CustomKeyStoreRegion;
  let owner: KMSClient;
  let storeId: string;
  let keyId: string;
  let ciphertext: Uint8Array;
  const client = (credentials: typeof ADMIN) => new KMSClient({ endpoint: region.endpoint, region: REGION, credentials, maxAttempts: 1 });

  before(async () => {
    region = await startCustomKeyStoreRegion();
    owner = client(ADMIN);
    const clusterId = await region.activeCluster(['us-east-1a', 'us-east-1b']);
    storeId = (
      await owner.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'Owned',
          CloudHsmClusterId: clusterId,
          TrustAnchorCertificate: region.anchor,
          KeyStorePassword: KMSUSER_PASSWORD,
        }),
      )
    ).CustomKeyStoreId!;
    await owner.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    keyId = (await owner.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId }))).KeyMetadata!.KeyId!;
    ciphertext = (await owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('owned') }))).CiphertextBlob!;
  });
  after(() => region.stop());

  it("refuses another account's caller the keys of the store, its listing and new keys in it", async () => {
    const outsider = client(OUTSIDER);
    const arn = `arn:aws:kms:${REGION}:111122223333:key/${keyId}`;
    await assert.rejects(outsider.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DecryptCommand({ CiphertextBlob: ciphertext })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DescribeCustomKeyStoresCommand({})), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'AccessDeniedException' });
  });

  it('refuses a store on, or a move to, a cluster the caller cannot see', async () => {
    const kmsOnly = client(KMS_ONLY);
    const hidden = await region.activeCluster(['us-east-1a', 'us-east-1b']);
    await assert.rejects(
      kmsOnly.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'Hidden',
          CloudHsmClusterId: hidden,
          TrustAnchorCertificate: region.anchor,
          KeyStorePassword: KMSUSER_PASSWORD,
        }),
      ),
      { name: 'AccessDeniedException' },
    );
    await owner.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await assert.rejects(kmsOnly.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: await region.relatedCluster(hidden) })), {
      name: 'AccessDeniedException',
    });
  });

  it('never answers the kmsuser password, and keeps it only wrapped in the store', async () => {
    const { CustomKeyStores } = await owner.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }));
    assert.ok(!JSON.stringify(CustomKeyStores).includes(KMSUSER_PASSWORD));
    const stored = (await region.store.list('custom-key-store')).map((entry) => entry.value).join('\n');
    assert.ok(stored.includes(storeId));
    assert.ok(!stored.includes(KMSUSER_PASSWORD));
    assert.ok(!stored.includes(Buffer.from(KMSUSER_PASSWORD).toString('base64')));
  });
});
