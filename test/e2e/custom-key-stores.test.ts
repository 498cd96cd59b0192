import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { changePassword, CloudHsmService, createUser, KmsKeyStoreClusters } from '../../src/hsm/index.ts';
import { KeyService } from '../../src/kms/index.ts';
import { buildRegionServer, type AccessKey } from '../../src/server/index.ts';
import { SqliteStore } from '../../src/store/index.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const ADMIN: AccessKey = {
  accessKeyId: 'AKIACKSTEST000000001',
  secretAccessKey: 'custom-key-store-test-secret-01',
  principal: `arn:aws:iam::${ACCOUNT}:user/admin`,
};
/** Allowed every KMS action, but no CloudHSM action: the clusters are not visible to it. */
const KMS_ONLY: AccessKey = {
  accessKeyId: 'AKIACKSTEST000000002',
  secretAccessKey: 'custom-key-store-test-secret-02',
  principal: `arn:aws:iam::${ACCOUNT}:user/kms-only`,
};
const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];
const KMSUSER_PASSWORD = 'kmsuser-pass-1';
const allow = (): Promise<void> => Promise.resolve();

/**
 * Custom key stores on a region's CloudHSM clusters, through the AWS SDK for JavaScript, the
 * AWS CLI and the AWS Encryption SDK, against a region server with the real key and cluster
 * services. The clusters are activated and given their `kmsuser` through the cluster domain, as
 * the management shell does it (`changePswd`, `createUser CU kmsuser`).
 */
describe('KMS custom key stores on CloudHSM clusters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-cks-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  const clusters = new CloudHsmService({ region: REGION, account: ACCOUNT, store, unit });
  const service = new KeyService({
    region: REGION,
    account: ACCOUNT,
    store,
    unit,
    principals: [
      { arn: ADMIN.principal, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'cloudhsm:*'], Resource: '*' }] }] },
      { arn: KMS_ONLY.principal, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: '*' }] }] },
    ],
    cloudHsmClusters: new KmsKeyStoreClusters(clusters),
  });
  let app: FastifyInstance;
  let endpoint: string;
  let kms: KMSClient;
  let anchor: string;
  let clusterId: string;
  let storeId: string;
  let keyId: string;

  const call = async (name: Parameters<CloudHsmService['call']>[0], input: Record<string, unknown>) => clusters.call(name, input, allow);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

  /** A cluster with HSMs in `zones`, initialized with our CA, activated, with kmsuser when `withKmsUser`. */
  async function activeCluster(zones: string[], withKmsUser = true): Promise<string> {
    const { Cluster } = (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS })) as { Cluster: { ClusterId: string } };
    const id = Cluster.ClusterId;
    await call('CreateHsm', { ClusterId: id, AvailabilityZone: zones[0] });
    const { Clusters } = (await call('DescribeClusters', { Filters: { clusterIds: [id] } })) as { Clusters: { Certificates: { ClusterCsr: string } }[] };
    writeFileSync(join(dir, `${id}.csr`), Clusters[0]!.Certificates.ClusterCsr);
    openssl('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${id}.crt`, '-days', '365');
    await call('InitializeCluster', { ClusterId: id, SignedCert: readFileSync(join(dir, `${id}.crt`), 'utf8'), TrustAnchor: anchor });
    await clusters.asUser(id, { type: 'PRECO', name: 'admin', password: 'password' }, (contents, admin) => {
      changePassword(contents, admin, 'admin', 'officer-pass-1');
      if (withKmsUser) createUser(contents, admin, 'CU', 'kmsuser', KMSUSER_PASSWORD);
    });
    for (const zone of zones.slice(1)) await call('CreateHsm', { ClusterId: id, AvailabilityZone: zone });
    return id;
  }

  /** A cluster made from a fresh backup of `sourceId` (adding an HSM takes one): of the same lineage, holding its keys. */
  async function relatedCluster(sourceId: string): Promise<string> {
    await call('CreateHsm', { ClusterId: sourceId, AvailabilityZone: 'us-east-1a' });
    const { Backups } = (await call('DescribeBackups', { Filters: { clusterIds: [sourceId] } })) as { Backups: { BackupId: string }[] };
    const { Cluster } = (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, SourceBackupId: Backups[0]!.BackupId })) as {
      Cluster: { ClusterId: string };
    };
    await call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-east-1a' });
    await call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-east-1b' });
    return Cluster.ClusterId;
  }

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
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '365', '-subj', '/CN=Our CA');
    anchor = readFileSync(join(dir, 'ca.crt'), 'utf8');
    app = buildRegionServer({ service, accessKeys: [ADMIN, KMS_ONLY], logger: pino({ level: 'silent' }) });
    endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
    kms = new KMSClient({ endpoint, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    clusterId = await activeCluster(['us-east-1a', 'us-east-1b']);
  });
  after(async () => {
    await app.close();
    await store.close();
  });

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
    const onHsm = await clusters.onHsms(clusterId, (contents) => {
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
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.CustomKeyStoreId, storeId);
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

  it('refuses a key store on a cluster the caller cannot see (cloudhsm:DescribeClusters), as AWS does', async () => {
    const kmsOnly = new KMSClient({ endpoint, region: REGION, credentials: KMS_ONLY, maxAttempts: 1 });
    const hidden = await activeCluster(['us-east-1a', 'us-east-1b']);
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
  });
});
