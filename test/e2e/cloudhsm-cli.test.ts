import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from './eventually.ts';
import { isolatedAwsEnv } from './isolated-aws-env.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

interface Hsm {
  HsmId: string;
  EniIp: string;
  State: string;
}
interface Cluster {
  ClusterId: string;
  State: string;
  Hsms: Hsm[];
  Certificates: { ClusterCsr?: string; ClusterCertificate?: string };
  CreateTimestamp: number;
  SourceBackupId?: string;
}
interface Backup {
  BackupId: string;
  BackupArn: string;
  BackupState: string;
  ClusterId?: string;
  SourceBackup?: string;
  SourceRegion?: string;
  CreateTimestamp: number;
}

/** Runs [operation, params] calls read from stdin with boto3's cloudhsmv2 client; `paginate:<op>` gathers every page of 1. */
const BOTO3_BATCH = `
import sys, json, boto3, botocore
client = boto3.client('cloudhsmv2', endpoint_url=sys.argv[1], region_name='us-east-1', config=botocore.config.Config(retries={'max_attempts': 1}))
answers = []
for call in json.load(sys.stdin):
    operation, params = call[0], (call[1] if len(call) > 1 else {})
    try:
        if operation.startswith('paginate:'):
            pages = client.get_paginator(operation[9:]).paginate(**params, PaginationConfig={'PageSize': 1})
            answers.append({'Pages': [page for page in pages]})
        else:
            answers.append(getattr(client, operation)(**params))
    except botocore.exceptions.ClientError as error:
        answers.append({'Error': error.response['Error']['Code']})
print(json.dumps(answers, default=str))
`;
const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];
/** An AWS error as the CLI prints it: the exception's name. */
const failsWith = (code: string) => (error: unknown) => error instanceof Error && error.message.includes(`(${code})`);

describe('the CloudHSM v2 API through the AWS CLI and boto3 (botocore 1.43, the current model)', () => {
  let dev: DevDeployment;
  let dir: string;
  let clusterId: string;
  let backup: Backup;

  const aws = (region: string, ...args: string[]): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      execFile(
        'aws',
        ['cloudhsmv2', ...args, '--endpoint-url', dev.endpoint(region), '--region', region, '--output', 'json'],
        {
          env: isolatedAwsEnv(dir, { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY, AWS_MAX_ATTEMPTS: '1' }),
        },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`aws cloudhsmv2 ${args[0] ?? ''} failed: ${stderr}`));
          else resolve(stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>));
        },
      );
    });
  const east = (...args: string[]) => aws('us-east-1', ...args);
  const west = (...args: string[]) => aws('us-west-2', ...args);
  /** Calls in one boto3 process (a CLI process each costs a Python start): each answers its response or {Error: code}. */
  const boto3 = (calls: [operation: string, params?: Record<string, unknown>][]): Promise<Record<string, unknown>[]> =>
    new Promise((resolve, reject) => {
      const child = execFile(
        'python3',
        ['-c', BOTO3_BATCH, dev.endpoint('us-east-1')],
        { env: isolatedAwsEnv(dir, { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY }) },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`boto3 failed: ${stderr}`));
          else resolve(JSON.parse(stdout) as Record<string, unknown>[]);
        },
      );
      child.stdin!.end(JSON.stringify(calls));
    });
  const describeCluster = async (region: string, id: string): Promise<Cluster> =>
    ((await aws(region, 'describe-clusters', '--filters', `clusterIds=${id}`)) as { Clusters: Cluster[] }).Clusters[0]!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-cloudhsm-cli-'));
    dev = await startDev({ extraArgs: ['--hsm-backup-interval', '2'] });
  });
  after(() => dev.stop());

  it('creates a cluster whose ID, state and timestamps are as the model says', async () => {
    const { Cluster: created } = (await east('create-cluster', '--hsm-type', 'hsm2m.medium', '--subnet-ids', ...SUBNETS)) as { Cluster: Cluster };
    assert.match(created.ClusterId, /^cluster-[2-7a-zA-Z]{11,16}$/);
    assert.equal(created.State, 'CREATE_IN_PROGRESS');
    assert.equal(typeof created.CreateTimestamp, 'number');
    clusterId = created.ClusterId;
    assert.equal((await describeCluster('us-east-1', clusterId)).State, 'UNINITIALIZED');
  });

  it('adds an HSM, and initializes the cluster with its CSR signed by our own CA with openssl', async () => {
    const { Hsm: hsm } = (await east('create-hsm', '--cluster-id', clusterId, '--availability-zone', 'us-east-1a')) as { Hsm: Hsm };
    assert.match(hsm.HsmId, /^hsm-[2-7a-zA-Z]{11,16}$/);
    const csr = (await describeCluster('us-east-1', clusterId)).Certificates.ClusterCsr!;
    writeFileSync(join(dir, 'cluster.csr'), csr);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=Our CA');
    openssl('x509', '-req', '-in', 'cluster.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cluster.crt', '-days', '3650');
    const answer = await east(
      'initialize-cluster',
      '--cluster-id',
      clusterId,
      '--signed-cert',
      `file://${join(dir, 'cluster.crt')}`,
      '--trust-anchor',
      `file://${join(dir, 'ca.crt')}`,
    );
    assert.equal(answer.State, 'INITIALIZE_IN_PROGRESS');
    const cluster = await describeCluster('us-east-1', clusterId);
    assert.equal(cluster.State, 'INITIALIZED');
    assert.equal(cluster.Certificates.ClusterCertificate, readFileSync(join(dir, 'cluster.crt'), 'utf8'));
  });

  it('backs the cluster up by itself, as AWS does, with no CreateBackup', async () => {
    await eventually(async () => {
      const { Backups } = (await east('describe-backups', '--filters', `clusterIds=${clusterId}`)) as { Backups: Backup[] };
      assert.ok(Backups.length > 0);
      backup = Backups[0]!;
    });
    assert.match(backup.BackupId, /^backup-[2-7a-zA-Z]{11,16}$/);
    assert.equal(backup.BackupArn, `arn:aws:cloudhsm:us-east-1:111122223333:backup/${backup.BackupId}`);
    assert.equal(backup.BackupState, 'READY');
  });

  it('copies a backup to us-west-2 over the peer link and makes a cluster there from the copy', async () => {
    const { DestinationBackup } = (await east('copy-backup-to-region', '--destination-region', 'us-west-2', '--backup-id', backup.BackupId)) as {
      DestinationBackup: { SourceBackup: string; SourceRegion: string; SourceCluster: string };
    };
    assert.deepEqual(
      [DestinationBackup.SourceBackup, DestinationBackup.SourceRegion, DestinationBackup.SourceCluster],
      [backup.BackupId, 'us-east-1', clusterId],
    );
    let copy: Backup | undefined;
    await eventually(async () => {
      const { Backups } = (await west('describe-backups', '--filters', `sourceBackupIds=${backup.BackupId}`)) as { Backups: Backup[] };
      copy = Backups[0];
      assert.equal(copy?.BackupState, 'READY');
    });
    assert.equal(copy!.SourceRegion, 'us-east-1');
    assert.equal(copy!.ClusterId, undefined);

    const { Cluster: clone } = (await west(
      'create-cluster',
      '--hsm-type',
      'hsm2m.medium',
      '--subnet-ids',
      SUBNETS[0]!,
      '--source-backup-id',
      copy!.BackupId,
    )) as {
      Cluster: Cluster;
    };
    assert.equal(clone.SourceBackupId, copy!.BackupId);
    await west('create-hsm', '--cluster-id', clone.ClusterId, '--availability-zone', 'us-west-2a');
    const restored = await describeCluster('us-west-2', clone.ClusterId);
    assert.equal(restored.State, 'ACTIVE');
    assert.equal(restored.Certificates.ClusterCertificate, (await describeCluster('us-east-1', clusterId)).Certificates.ClusterCertificate);
    await assert.rejects(
      west('initialize-cluster', '--cluster-id', clone.ClusterId, '--signed-cert', 'x', '--trust-anchor', 'y'),
      failsWith('CloudHsmInvalidRequestException'),
    );
  });

  it('deletes a backup to PENDING_DELETION, restores it, and keeps it from expiring', async () => {
    const deleted = (await east('delete-backup', '--backup-id', backup.BackupId)) as { Backup: Backup & { DeleteTimestamp: number } };
    assert.equal(deleted.Backup.BackupState, 'PENDING_DELETION');
    assert.equal(typeof deleted.Backup.DeleteTimestamp, 'number');
    const { Backups: pending } = (await east('describe-backups', '--filters', 'states=PENDING_DELETION')) as { Backups: Backup[] };
    assert.deepEqual(
      pending.map((b) => b.BackupId),
      [backup.BackupId],
    );
    assert.equal(((await east('restore-backup', '--backup-id', backup.BackupId)) as { Backup: Backup }).Backup.BackupState, 'READY');
    const modified = (await east('modify-backup-attributes', '--backup-id', backup.BackupId, '--never-expires')) as { Backup: { NeverExpires: boolean } };
    assert.equal(modified.Backup.NeverExpires, true);
  });

  it("tags clusters, shares a backup by resource policy, pages, and answers with the model's exceptions, through boto3", async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: ['cloudhsm:DescribeBackups'], Resource: '*' }],
    });
    const subnet = { HsmType: 'hsm1.medium', SubnetIds: [SUBNETS[0]] };
    const answers = await boto3([
      [
        'tag_resource',
        {
          ResourceId: clusterId,
          TagList: [
            { Key: 'team', Value: 'payments' },
            { Key: 'env', Value: 'prod' },
          ],
        },
      ],
      ['untag_resource', { ResourceId: clusterId, TagKeyList: ['env'] }],
      ['list_tags', { ResourceId: clusterId }],
      ['put_resource_policy', { ResourceArn: backup.BackupArn, Policy: policy }],
      ['get_resource_policy', { ResourceArn: backup.BackupArn }],
      ['delete_resource_policy', { ResourceArn: backup.BackupArn }],
      ['get_resource_policy', { ResourceArn: backup.BackupArn }],
      ['create_cluster', subnet],
      ['create_cluster', subnet],
      ['paginate:describe_clusters'],
      ['describe_clusters'],
      ['delete_cluster', { ClusterId: 'cluster-abcdefghijk' }],
      ['delete_cluster', { ClusterId: clusterId }],
      ['create_cluster', { ...subnet, BackupRetentionPolicy: { Type: 'DAYS', Value: '400' } }],
      ['copy_backup_to_region', { DestinationRegion: 'eu-west-1', BackupId: backup.BackupId }],
      ['put_resource_policy', { ResourceArn: `arn:aws:cloudhsm:us-east-1:111122223333:cluster/${clusterId}`, Policy: policy }],
    ]);
    assert.deepEqual(answers[2]!.TagList, [{ Key: 'team', Value: 'payments' }]);
    assert.equal(answers[4]!.Policy, policy);
    assert.equal(answers[6]!.Policy, undefined);
    const pages = (answers[9]!.Pages as { Clusters: Cluster[] }[]).map((page) => page.Clusters.map((c) => c.ClusterId));
    assert.ok(pages.every((page) => page.length === 1));
    assert.deepEqual(
      pages.flat(),
      (answers[10]!.Clusters as Cluster[]).map((c) => c.ClusterId),
    );
    assert.deepEqual(
      answers.slice(11).map((answer) => answer.Error),
      [
        'CloudHsmResourceNotFoundException',
        'CloudHsmInvalidRequestException',
        'CloudHsmInvalidRequestException',
        'CloudHsmInvalidRequestException',
        'CloudHsmInvalidRequestException',
      ],
    );
  });
});
