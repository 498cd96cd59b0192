import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from './eventually.ts';
import { clusterWithKeys, startHsmRegions, SUBNETS, type HsmRegion } from './hsm-regions.ts';

interface Backup {
  BackupId: string;
  BackupState: string;
  SourceBackup?: string;
}

describe('a backup larger than a peer request copies to another region in parts', () => {
  let deployment: Awaited<ReturnType<typeof startHsmRegions>>;
  let east: HsmRegion;
  let west: HsmRegion;

  before(async () => {
    deployment = await startHsmRegions(['us-east-1', 'us-west-2']);
    east = deployment.regions['us-east-1']!;
    west = deployment.regions['us-west-2']!;
  });
  after(() => deployment.stop());

  it('copies the backup of a cluster holding 10,000 keys (over 1 MiB sealed), and a cluster made from the copy holds every key', async () => {
    const clusterId = await clusterWithKeys(east, deployment.dir, ['us-east-1a', 'us-east-1b'], 10_000);
    const { Backups } = (await east.call('DescribeBackups', { Filters: { clusterIds: [clusterId] } })) as { Backups: Backup[] };
    const backupId = Backups[0]!.BackupId;
    await east.call('CopyBackupToRegion', { BackupId: backupId, DestinationRegion: 'us-west-2' });
    let copy: Backup | undefined;
    await eventually(
      async () => {
        copy = ((await west.call('DescribeBackups', { Filters: { sourceBackupIds: [backupId] } })) as { Backups: Backup[] }).Backups[0];
        assert.equal(copy?.BackupState, 'READY');
      },
      { timeoutMs: 120_000 },
    );
    const { Cluster } = (await west.call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, SourceBackupId: copy!.BackupId })) as {
      Cluster: { ClusterId: string };
    };
    await west.call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-west-2a' });
    const held = await west.clusters.onHsms(Cluster.ClusterId, (contents) => ({
      keys: contents.keys.length,
      last: contents.keys.find((key) => key.attributes.label === 'key-9999')?.attributes.valueLen,
    }));
    assert.deepEqual(held, { keys: 10_000, last: 32 });
  });
});
