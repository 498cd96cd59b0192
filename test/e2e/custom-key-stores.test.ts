import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildClient, CommitmentPolicy, getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import {
  ConnectCustomKeyStoreCommand,
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DescribeKeyCommand,
  DisconnectCustomKeyStoreCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
} from '@aws-sdk/client-kms';
import { ACCOUNT, ADMIN, KMSUSER_PASSWORD, REGION, startCustomKeyStoreRegion, type CustomKeyStoreRegion } from './custom-key-store-region.ts';
import { SUBNETS } from './hsm-regions.ts';

/**
 * Custom key stores on a region's CloudHSM clusters, through the AWS SDK for JavaScript, the
 * AWS CLI and the AWS Encryption SDK (see custom-key-store-region.ts for the region).
 */
describe('KMS custom key stores on CloudHSM clusters', () => {
  let region: CustomKeyStoreRegion;
  let endpoint: string;
  let dir: string;
  let kms: KMSClient;
  let anchor: string;
  let clusterId: string;
  let storeId: string;
  let keyId: string;

  const call = (name: Parameters<CustomKeyStoreRegion['call']>[0], input: Record<string, unknown>) => region.call(name, input);
  const activeCluster = (zones: string[], withKmsUser?: boolean) => region.activeCluster(zones, withKmsUser);
  const relatedCluster = (sourceId: string) => region.relatedCluster(sourceId);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

  const describeStore = async (id = storeId): Promise<CustomKeyStoresListEntry> =>
    (await kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: id }))).CustomKeyStores![0]!;

  const aws = (...args: string[]): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      execFile(
        'aws',
        ['kms', ...args, '--endpoint-url', endpoint, '--region', REGION, '--output', 'json'],
        {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
            AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
            AWS_CONFIG_FILE: join(dir, 'no-config'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
            AWS_PAGER: '',
            AWS_MAX_ATTEMPTS: '1',
          },
        },
        (error, stdout, stderr) => {
          if (error) reject(new Error(stderr));
          else resolve(stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>));
        },
      );
    });

  before(async () => {
    region = await startCustomKeyStoreRegion();
    ({ endpoint, dir, anchor } = region);
    kms = new KMSClient({ endpoint, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    clusterId = await activeCluster(['us-east-1a', 'us-east-1b']);
  });
  after(() => region.stop());

  it('creates a key store on an active cluster whose trust anchor it is given, DISCONNECTED', async () => {
    const created = await kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'ExampleKeyStore',
        CloudHsmClusterId: clusterId,
        TrustAnchorCertificate: anchor,
        KeyStorePassword: KMSUSER_PASSWORD,
      }),
    );
    storeId = created.CustomKeyStoreId!;
    assert.match(storeId, /^cks-[0-9a-f]{17}$/);
    const described = await describeStore();
    assert.deepEqual(
      [described.CustomKeyStoreName, described.CustomKeyStoreType, described.CloudHsmClusterId, described.ConnectionState, described.TrustAnchorCertificate],
      ['ExampleKeyStore', 'AWS_CLOUDHSM', clusterId, 'DISCONNECTED', anchor],
    );
    assert.ok(described.CreationDate instanceof Date);
  });

  it('refuses a store on an unknown, inactive or already used cluster, with another anchor, or a name in use', async () => {
    const create = (input: Partial<ConstructorParameters<typeof CreateCustomKeyStoreCommand>[0]>) =>
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'Another',
          CloudHsmClusterId: clusterId,
          TrustAnchorCertificate: anchor,
          KeyStorePassword: KMSUSER_PASSWORD,
          ...input,
        }),
      );
    await assert.rejects(create({ CloudHsmClusterId: 'cluster-aaaaaaaaaaa' }), { name: 'CloudHsmClusterNotFoundException' });
    const { Cluster } = (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS })) as { Cluster: { ClusterId: string } };
    await assert.rejects(create({ CloudHsmClusterId: Cluster.ClusterId }), { name: 'CloudHsmClusterNotActiveException' });
    await assert.rejects(create({}), { name: 'CloudHsmClusterInUseException' });
    await assert.rejects(create({ CloudHsmClusterId: await relatedCluster(clusterId) }), { name: 'CloudHsmClusterInUseException' });
    const other = await activeCluster(['us-east-1a'], false);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '365', '-subj', '/CN=Other CA');
    await assert.rejects(create({ CloudHsmClusterId: other, TrustAnchorCertificate: readFileSync(join(dir, 'other.crt'), 'utf8') }), {
      name: 'IncorrectTrustAnchorException',
    });
    await assert.rejects(create({ CloudHsmClusterId: other, CustomKeyStoreName: 'ExampleKeyStore' }), { name: 'CustomKeyStoreNameInUseException' });
    await assert.rejects(create({ CustomKeyStoreType: 'EXTERNAL_KEY_STORE' }), { name: 'UnsupportedOperationException' });
  });

  it('refuses keys in a store that is not connected, and unknown stores', async () => {
    await assert.rejects(kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId })), {
      name: 'CustomKeyStoreInvalidStateException',
    });
    await assert.rejects(kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-00000000000000000' })), {
      name: 'CustomKeyStoreNotFoundException',
    });
    await assert.rejects(kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'CustomKeyStoreInvalidStateException' });
    await assert.rejects(kms.send(new DescribeCustomKeyStoresCommand({ CustomKeyStoreId: 'cks-00000000000000000' })), {
      name: 'CustomKeyStoreNotFoundException',
    });
  });

  it('connects with the AWS CLI, logging in as kmsuser, and makes a key on the cluster owned by kmsuser', async () => {
    assert.deepEqual(await aws('connect-custom-key-store', '--custom-key-store-id', storeId), {});
    assert.equal((await describeStore()).ConnectionState, 'CONNECTED');
    const { KeyMetadata } = (await aws('create-key', '--origin', 'AWS_CLOUDHSM', '--custom-key-store-id', storeId)) as {
      KeyMetadata: { KeyId: string; Origin: string; CustomKeyStoreId: string; CloudHsmClusterId: string; KeyState: string };
    };
    keyId = KeyMetadata.KeyId;
    assert.deepEqual(
      [KeyMetadata.Origin, KeyMetadata.CustomKeyStoreId, KeyMetadata.CloudHsmClusterId, KeyMetadata.KeyState],
      ['AWS_CLOUDHSM', storeId, clusterId, 'Enabled'],
    );
    const onHsm = await region.clusters.onHsms(clusterId, (contents) => {
      const key = contents.keys.find((k) => k.attributes.label === keyId);
      return key && { owner: contents.users.find((u) => u.id === key.owner)?.name, type: key.attributes.keyType, bytes: key.attributes.valueLen };
    });
    assert.deepEqual(onHsm, { owner: 'kmsuser', type: 'AES', bytes: 32 });
    const { CustomKeyStores } = (await aws('describe-custom-key-stores', '--custom-key-store-name', 'ExampleKeyStore')) as {
      CustomKeyStores: { CustomKeyStoreId: string; ConnectionState: string }[];
    };
    assert.deepEqual(
      CustomKeyStores.map((s) => [s.CustomKeyStoreId, s.ConnectionState]),
      [[storeId, 'CONNECTED']],
    );
  });

  it('encrypts, decrypts and makes data keys with the key in the store', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('in the HSM'), EncryptionContext: { a: 'b' } }));
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { a: 'b' } }));
    assert.equal(Buffer.from(Plaintext!).toString(), 'in the HSM');
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    assert.deepEqual((await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }))).Plaintext, dataKey.Plaintext);
    await assert.rejects(kms.send(new EnableKeyRotationCommand({ KeyId: keyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(
      kms.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: storeId, KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })),
      {
        name: 'UnsupportedOperationException',
      },
    );
    await assert.rejects(kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId })), { name: 'ValidationException' });
  });

  it('round-trips through the AWS Encryption SDK with a keyring on the key in the store', async () => {
    const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const clientProvider = getClient(KMS, { endpoint, credentials: ADMIN, maxAttempts: 1 });
    const keyring = new KmsKeyringNode({ generatorKeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`, clientProvider });
    const message = Buffer.from('a message under a key that lives in an HSM cluster');
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- KmsKeyringNode is a KeyringNode made by a mixin the ESDK's types do not relate to it
    const { result } = await encrypt(keyring, message, { encryptionContext: { purpose: 'custom key store' } });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- KmsKeyringNode is a KeyringNode made by a mixin the ESDK's types do not relate to it
    const { plaintext } = await decrypt(keyring, result);
    assert.deepEqual(plaintext, message);
  });

  it('refuses to update or delete a connected store, and keys of a disconnected store are refused with KMSInvalidStateException', async () => {
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }));
    await assert.rejects(kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, NewCustomKeyStoreName: 'Renamed' })), {
      name: 'CustomKeyStoreInvalidStateException',
    });
    await assert.rejects(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'CustomKeyStoreInvalidStateException' });
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal((await describeStore()).ConnectionState, 'DISCONNECTED');
    await assert.rejects(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), { name: 'KMSInvalidStateException' });
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob })), { name: 'KMSInvalidStateException' });
    await assert.rejects(kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })), { name: 'KMSInvalidStateException' });
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.deepEqual([KeyMetadata!.CustomKeyStoreId, KeyMetadata!.KeyState], [storeId, 'Unavailable']);
  });

  it('moves the store only to a related cluster, where the same key decrypts, and keeps the store while it holds keys', async () => {
    const { CiphertextBlob } = await (async () => {
      await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      const sealed = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('follows the lineage') }));
      await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
      return sealed;
    })();
    const unrelated = await activeCluster(['us-east-1a', 'us-east-1b']);
    await assert.rejects(kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: unrelated })), {
      name: 'CloudHsmClusterNotRelatedException',
    });
    await assert.rejects(kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: 'cluster-aaaaaaaaaaa' })), {
      name: 'CloudHsmClusterNotFoundException',
    });
    const related = await relatedCluster(clusterId);
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, CloudHsmClusterId: related, NewCustomKeyStoreName: 'Moved' }));
    const moved = await describeStore();
    assert.deepEqual([moved.CloudHsmClusterId, moved.CustomKeyStoreName], [related, 'Moved']);
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'follows the lineage');
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await assert.rejects(kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'CustomKeyStoreHasCMKsException' });
  });

  it('fails to connect with a wrong kmsuser password (INVALID_CREDENTIALS) or without kmsuser (USER_NOT_FOUND), and then refuses to connect until disconnected', async () => {
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, KeyStorePassword: 'not-the-password' }));
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    const failed = await describeStore();
    assert.deepEqual([failed.ConnectionState, failed.ConnectionErrorCode], ['FAILED', 'INVALID_CREDENTIALS']);
    await assert.rejects(kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId })), { name: 'CustomKeyStoreInvalidStateException' });
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    assert.equal((await describeStore()).ConnectionErrorCode, undefined);

    const noKmsUser = await activeCluster(['us-east-1a', 'us-east-1b'], false);
    const { CustomKeyStoreId } = await kms.send(
      new CreateCustomKeyStoreCommand({
        CustomKeyStoreName: 'NoKmsUser',
        CloudHsmClusterId: noKmsUser,
        TrustAnchorCertificate: anchor,
        KeyStorePassword: KMSUSER_PASSWORD,
      }),
    );
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }));
    const missing = await describeStore(CustomKeyStoreId);
    assert.deepEqual([missing.ConnectionState, missing.ConnectionErrorCode], ['FAILED', 'USER_NOT_FOUND']);
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId }));
    await kms.send(new DeleteCustomKeyStoreCommand({ CustomKeyStoreId }));
    await assert.rejects(describeStore(CustomKeyStoreId), { name: 'CustomKeyStoreNotFoundException' });
  });

  it('pages DescribeCustomKeyStores with Limit and Marker', async () => {
    const first = await kms.send(new DescribeCustomKeyStoresCommand({ Limit: 1 }));
    assert.equal(first.CustomKeyStores!.length, 1);
    assert.equal(first.Truncated, first.NextMarker !== undefined);
    const all = await kms.send(new DescribeCustomKeyStoresCommand({}));
    assert.ok(all.CustomKeyStores!.some((s) => s.CustomKeyStoreId === storeId));
    assert.equal(all.Truncated, false);
  });
});
