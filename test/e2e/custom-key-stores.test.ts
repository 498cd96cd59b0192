import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
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
  type KMSClient,
  UpdateCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
} from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { Clusters, shell } from './hsm-shells.ts';

const REGION = 'us-east-1';
const OFFICER = 'officer-pass-1';
const KMSUSER_PASSWORD = 'kmsuser-pass-1';
const CREDENTIALS = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

/**
 * Custom key stores on CloudHSM clusters of a real `concord dev`, as a user sets them up: the
 * cluster created and initialized through the CloudHSM API (JS SDK, CSR signed with openssl),
 * activated and given its `kmsuser` crypto user with `concord hsm-mgmt`, then the store created,
 * connected and used through the AWS SDK for JavaScript, the AWS CLI and the AWS Encryption SDK.
 */
describe('KMS custom key stores on CloudHSM clusters', () => {
  let dev: DevDeployment;
  let clusters: Clusters;
  let endpoint: string;
  let dir: string;
  let kms: KMSClient;
  let anchor: string;
  let clusterId: string;
  let clusterConf: string;
  let storeId: string;
  let keyId: string;

  /** An active cluster with HSMs in `zones`, with the kmsuser crypto user when `withKmsUser`. */
  const activeCluster = async (zones: string[], withKmsUser = true) =>
    (await clusters.activated(REGION, zones, OFFICER, withKmsUser ? [['kmsuser', KMSUSER_PASSWORD]] : [])).clusterId;
  const relatedCluster = (sourceId: string) => clusters.cloned(REGION, sourceId, ['us-east-1a', 'us-east-1b']);
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
            AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
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
    dir = mkdtempSync(join(tmpdir(), 'concord-cks-'));
    dev = await startDev({ regions: [REGION] });
    clusters = new Clusters(dev, dir);
    endpoint = dev.endpoint(REGION);
    kms = dev.client(REGION);
    ({ clusterId, anchor, conf: clusterConf } = await clusters.activated(REGION, ['us-east-1a', 'us-east-1b'], OFFICER, [['kmsuser', KMSUSER_PASSWORD]]));
  });
  after(() => dev.stop());

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
    await assert.rejects(create({ CloudHsmClusterId: await clusters.create(REGION) }), { name: 'CloudHsmClusterNotActiveException' });
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
    const found = await shell('hsm-keys', clusterConf, [`loginHSM -u CU -s kmsuser -p ${KMSUSER_PASSWORD}`, `findKey -t 31 -l ${keyId}`]);
    const handle = /matched from start index 0::0\n(\d+)\n/.exec(found.stdout)?.[1];
    assert.ok(handle !== undefined, found.stdout);
    const out = join(dir, 'kms-key-attributes');
    const dumped = await shell('hsm-keys', clusterConf, [`loginHSM -u CU -s kmsuser -p ${KMSUSER_PASSWORD}`, `getAttribute -o ${handle} -a 512 -out ${out}`]);
    assert.ok(dumped.stdout.includes('Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS'), dumped.stdout);
    const attributes = readFileSync(out, 'utf8');
    for (const attribute of ['OBJ_ATTR_KEY_TYPE\n0x1f\n', `OBJ_ATTR_LABEL\n${keyId}\n`, 'OBJ_ATTR_VALUE_LEN\n0x00000020\n']) {
      assert.ok(attributes.includes(attribute), attributes);
    }
    const officer = await shell('hsm-mgmt', clusterConf, [`loginHSM CO admin ${OFFICER}`, 'listUsers', `getKeyInfo -k ${handle}`]);
    assert.match(officer.stdout, /\n +2 +CU +kmsuser +NO /);
    assert.ok(officer.stdout.includes('\n        Owned by user 2\n'), officer.stdout);
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
    const clientProvider = getClient(KMS, { endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
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
