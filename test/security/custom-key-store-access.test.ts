import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeCustomKeyStoresCommand,
  EncryptCommand,
  type KMSClient,
  UpdateCustomKeyStoreCommand,
  DisconnectCustomKeyStoreCommand,
} from '@aws-sdk/client-kms';
import { ACCOUNT, startDev, type DevDeployment } from '../e2e/harness.ts';
import { Clusters } from '../e2e/hsm-shells.ts';

const REGION = 'us-east-1';
const OFFICER = 'officer-pass-1';
const KMSUSER_PASSWORD = 'kmsuser-pass-1';
/** Allowed every KMS action, but no CloudHSM action: the clusters are not visible to it. */
const KMS_ONLY = { accessKeyId: 'AKIACKSTEST000000002', secretAccessKey: 'custom-key-store-test-secret-02' };
/** A principal of another account. */
const OUTSIDER = { accessKeyId: 'AKIACKSTEST000000003', secretAccessKey: 'custom-key-store-test-secret-03' };

/**
 * A custom key store belongs to its account and region, and names a cluster: callers of another
 * account cannot use its keys or put keys in it, and a caller who may not see the clusters
 * (cloudhsm:DescribeClusters, which AWS asks of CreateCustomKeyStore and UpdateCustomKeyStore)
 * cannot tie a store to one. The clusters are set up as a user does it: the CloudHSM API, then
 * `concord hsm-mgmt` for the officer and `kmsuser`.
 */
describe('custom key stores are out of reach of other accounts and of callers who cannot see the cluster', () => {
  let dev: DevDeployment;
  let clusters: Clusters;
  let owner: KMSClient;
  let anchor: string;
  let storeId: string;
  let keyId: string;
  let ciphertext: Uint8Array;
  const activeCluster = () => clusters.activated(REGION, ['us-east-1a', 'us-east-1b'], OFFICER, [['kmsuser', KMSUSER_PASSWORD]]);

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-cks-access-'));
    const principalsFile = join(dir, 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        {
          arn: `arn:aws:iam::${ACCOUNT}:user/kms-only`,
          ...KMS_ONLY,
          identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: '*' }] }],
        },
        { arn: 'arn:aws:iam::444455556666:user/outsider', ...OUTSIDER },
      ]),
    );
    dev = await startDev({ regions: [REGION], extraArgs: ['--principals-file', principalsFile] });
    clusters = new Clusters(dev, dir);
    owner = dev.client(REGION);
    let clusterId: string;
    ({ clusterId, anchor } = await activeCluster());
    storeId = (
      await owner.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'Owned',
          CloudHsmClusterId: clusterId,
          TrustAnchorCertificate: anchor,
          KeyStorePassword: KMSUSER_PASSWORD,
        }),
      )
    ).CustomKeyStoreId!;
    await owner.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    keyId = (await owner.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId }))).KeyMetadata!.KeyId!;
    ciphertext = (await owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('owned') }))).CiphertextBlob!;
  });
  after(() => dev.stop());

  it("refuses another account's caller the keys of the store, its listing and new keys in it", async () => {
    const outsider = dev.client(REGION, OUTSIDER);
    const arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
    await assert.rejects(outsider.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DecryptCommand({ CiphertextBlob: ciphertext })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DescribeCustomKeyStoresCommand({})), { name: 'AccessDeniedException' });
    await assert.rejects(outsider.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'AccessDeniedException' });
  });

  it('refuses a store on, or a move to, a cluster the caller cannot see', async () => {
    const kmsOnly = dev.client(REGION, KMS_ONLY);
    const hidden = (await activeCluster()).clusterId;
    await assert.rejects(
      kmsOnly.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'Hidden',
          CloudHsmClusterId: hidden,
          TrustAnchorCertificate: anchor,
          KeyStorePassword: KMSUSER_PASSWORD,
        }),
      ),
      { name: 'AccessDeniedException' },
    );
    await owner.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const related = await clusters.cloned(REGION, hidden, ['us-east-1a', 'us-east-1b']);
    await assert.rejects(kmsOnly.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: related })), {
      name: 'AccessDeniedException',
    });
  });

  it('never answers the kmsuser password, and keeps it only wrapped in the region database', async () => {
    const { CustomKeyStores } = await owner.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: storeId }));
    assert.ok(!JSON.stringify(CustomKeyStores).includes(KMSUSER_PASSWORD));
    const regionDir = join(dev.dataDir, REGION);
    const database = readdirSync(regionDir)
      .filter((file) => file.startsWith('keys.db'))
      .map((file) => readFileSync(join(regionDir, file)));
    assert.ok(database.some((bytes) => bytes.includes(storeId)));
    for (const form of [KMSUSER_PASSWORD, Buffer.from(KMSUSER_PASSWORD).toString('base64')]) {
      assert.ok(!database.some((bytes) => bytes.includes(form)), `the database holds the kmsuser password as ${form}`);
    }
  });
});
