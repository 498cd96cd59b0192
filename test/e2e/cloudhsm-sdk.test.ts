import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CloudHSMV2Client,
  CloudHsmAccessDeniedException,
  CloudHsmInvalidRequestException,
  CloudHsmResourceNotFoundException,
  CreateClusterCommand,
  CreateHsmCommand,
  DeleteClusterCommand,
  DeleteHsmCommand,
  DescribeBackupsCommand,
  DescribeClustersCommand,
  ListTagsCommand,
  ModifyClusterCommand,
  paginateDescribeClusters,
  TagResourceCommand,
} from '@aws-sdk/client-cloudhsm-v2';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const ACCOUNT = '111122223333';
const READER = `arn:aws:iam::${ACCOUNT}:user/hsm-reader`;
const READER_CREDENTIALS = { accessKeyId: 'AKIAHSMREADER0000001', secretAccessKey: 'hsm-reader-secret-access-key-0001' };
const OPERATOR = `arn:aws:iam::${ACCOUNT}:user/hsm-operator`;
const OPERATOR_CREDENTIALS = { accessKeyId: 'AKIAHSMOPERATOR00001', secretAccessKey: 'hsm-operator-secret-access-key-0001' };
const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];

describe('the CloudHSM v2 API through the JS SDK (@aws-sdk/client-cloudhsm-v2 3.332.0, an older model)', () => {
  let dev: DevDeployment;
  let admin: CloudHSMV2Client;
  let clusterId: string;
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new CloudHSMV2Client({ region: 'us-east-1', endpoint: dev.endpoint(), credentials, maxAttempts: 1 });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-cloudhsm-sdk-'));
    const principalsFile = join(dir, 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        {
          arn: READER,
          ...READER_CREDENTIALS,
          identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudhsm:Describe*', Resource: '*' }] }],
        },
        { arn: OPERATOR, ...OPERATOR_CREDENTIALS, identityPolicies: [] },
      ]),
    );
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--principals-file', principalsFile] });
    admin = client({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
  });
  after(() => dev.stop());

  it('creates a cluster and an HSM, with timestamps the SDK decodes as dates', async () => {
    const before = Date.now() - 1000;
    const { Cluster } = await admin.send(new CreateClusterCommand({ HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, TagList: [{ Key: 'team', Value: 'a' }] }));
    clusterId = Cluster!.ClusterId!;
    assert.match(clusterId, /^cluster-[2-7a-zA-Z]{11,16}$/);
    assert.ok(Cluster!.CreateTimestamp instanceof Date && Cluster!.CreateTimestamp.getTime() >= before);
    assert.deepEqual(Cluster!.BackupRetentionPolicy, { Type: 'DAYS', Value: '90' });
    const { Hsm } = await admin.send(new CreateHsmCommand({ ClusterId: clusterId, AvailabilityZone: 'us-east-1b' }));
    assert.equal(Hsm!.State, 'CREATE_IN_PROGRESS');
    assert.equal(Hsm!.SubnetId, SUBNETS[1]);
    const { Clusters } = await admin.send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    assert.equal(Clusters![0]!.Hsms![0]!.State, 'ACTIVE');
    assert.match(Clusters![0]!.Certificates!.ClusterCsr!, /BEGIN CERTIFICATE REQUEST/);
  });

  it('pages through clusters with the SDK paginator', async () => {
    for (let i = 0; i < 3; i++) await admin.send(new CreateClusterCommand({ HsmType: 'hsm1.medium', SubnetIds: [SUBNETS[0]!] }));
    const ids: string[] = [];
    for await (const page of paginateDescribeClusters({ client: admin, pageSize: 2 }, {})) ids.push(...page.Clusters!.map((c) => c.ClusterId!));
    assert.equal(ids.length, 4);
    assert.equal(new Set(ids).size, 4);
  });

  it('changes the retention policy and tags', async () => {
    const { Cluster } = await admin.send(new ModifyClusterCommand({ ClusterId: clusterId, BackupRetentionPolicy: { Type: 'DAYS', Value: '30' } }));
    assert.deepEqual(Cluster!.BackupRetentionPolicy, { Type: 'DAYS', Value: '30' });
    await admin.send(new TagResourceCommand({ ResourceId: clusterId, TagList: [{ Key: 'env', Value: 'test' }] }));
    const { TagList } = await admin.send(new ListTagsCommand({ ResourceId: clusterId }));
    assert.deepEqual(TagList, [
      { Key: 'team', Value: 'a' },
      { Key: 'env', Value: 'test' },
    ]);
  });

  it("raises the model's exception classes", async () => {
    await assert.rejects(admin.send(new DeleteClusterCommand({ ClusterId: 'cluster-abcdefghijk' })), CloudHsmResourceNotFoundException);
    await assert.rejects(admin.send(new DeleteClusterCommand({ ClusterId: clusterId })), CloudHsmInvalidRequestException);
    await assert.rejects(admin.send(new CreateHsmCommand({ ClusterId: clusterId, AvailabilityZone: 'us-east-1f' })), CloudHsmInvalidRequestException);
  });

  it('authorizes cloudhsm:<Action> by identity policies', async () => {
    const reader = client(READER_CREDENTIALS);
    const { Clusters } = await reader.send(new DescribeClustersCommand({}));
    assert.ok(Clusters!.length > 0);
    await reader.send(new DescribeBackupsCommand({}));
    await assert.rejects(reader.send(new CreateClusterCommand({ HsmType: 'hsm1.medium', SubnetIds: [SUBNETS[0]!] })), (error: unknown) => {
      assert.ok(error instanceof CloudHsmAccessDeniedException);
      assert.equal(
        error.message,
        `User: ${READER} is not authorized to perform: cloudhsm:CreateCluster on resource: * because no identity-based policy allows the cloudhsm:CreateCluster action`,
      );
      return true;
    });
    await assert.rejects(client(OPERATOR_CREDENTIALS).send(new DeleteHsmCommand({ ClusterId: clusterId, HsmId: 'hsm-abcdefghijk' })), (error: unknown) => {
      assert.ok(error instanceof CloudHsmAccessDeniedException);
      assert.ok(error.message.includes(`cloudhsm:DeleteHsm on resource: arn:aws:cloudhsm:us-east-1:${ACCOUNT}:cluster/${clusterId} `));
      return true;
    });
  });

  it('deletes the HSM, then the cluster', async () => {
    const { Clusters } = await admin.send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    const hsmId = Clusters![0]!.Hsms![0]!.HsmId!;
    assert.deepEqual((await admin.send(new DeleteHsmCommand({ ClusterId: clusterId, HsmId: hsmId }))).HsmId, hsmId);
    const { Cluster } = await admin.send(new DeleteClusterCommand({ ClusterId: clusterId }));
    assert.equal(Cluster!.State, 'DELETE_IN_PROGRESS');
    const { Clusters: after } = await admin.send(new DescribeClustersCommand({ Filters: { states: ['DELETED'] } }));
    assert.deepEqual(
      after!.map((c) => c.ClusterId),
      [clusterId],
    );
  });
});
