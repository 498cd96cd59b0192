import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UnitVault } from '../../src/cryptounits/index.ts';
import { CloudHsmService } from '../../src/hsm/index.ts';
import { eventually } from './eventually.ts';
import { clusterWithKeys, startHsmRegions, SUBNETS, type HsmRegion } from './hsm-regions.ts';

/** The behaviour asked of every crypto-unit backend that HSMs keep their users and keys in. */
export function hsmVaultSuite(name: string, backend: string, vaultOf: (region: string) => Promise<UnitVault>): void {
  describe(`HSMs on the ${name} crypto-unit backend`, () => {
    let deployment: Awaited<ReturnType<typeof startHsmRegions>>;
    let east: HsmRegion;
    let west: HsmRegion;
    let clusterId: string;

    before(async () => {
      deployment = await startHsmRegions(['us-east-1', 'us-west-2'], vaultOf);
      east = deployment.regions['us-east-1']!;
      west = deployment.regions['us-west-2']!;
      clusterId = await clusterWithKeys(east, deployment.dir, ['us-east-1a', 'us-east-1b'], 100);
    });
    after(() => deployment.stop());

    it(`keeps a cluster's users and keys at rest under the ${name} backend's key, and serves them from it`, async () => {
      const stored = JSON.parse((await east.store.get(`hsm/contents/${clusterId}`))!) as { hsmVault?: string };
      assert.equal(stored.hsmVault, backend);
      const held = await east.clusters.onHsms(clusterId, (contents) => ({ users: contents.users.map((u) => u.name), keys: contents.keys.length }));
      assert.deepEqual(held, { users: ['admin', 'app_user'], keys: 100 });
    });

    it('does not open the contents without the backend, though the store and the lineage key are there', async () => {
      const withoutVault = new CloudHsmService({ region: 'us-east-1', account: '111122223333', store: east.store, unit: east.unit });
      await assert.rejects(
        withoutVault.onHsms(clusterId, (contents) => contents.keys.length),
        (error: unknown) => error instanceof Error && !error.message.includes('app_user'),
      );
    });

    it("backs up under the lineage key alone, so the copy restores in another region under that region's backend", async () => {
      await east.call('CreateHsm', { ClusterId: clusterId, AvailabilityZone: 'us-east-1a' });
      const { Backups } = (await east.call('DescribeBackups', { Filters: { clusterIds: [clusterId] } })) as { Backups: { BackupId: string }[] };
      await east.call('CopyBackupToRegion', { BackupId: Backups[0]!.BackupId, DestinationRegion: 'us-west-2' });
      let copyId: string | undefined;
      await eventually(
        async () => {
          const { Backups: copies } = (await west.call('DescribeBackups', { Filters: { sourceBackupIds: [Backups[0]!.BackupId], states: ['READY'] } })) as {
            Backups: { BackupId: string }[];
          };
          copyId = copies[0]?.BackupId;
          assert.ok(copyId);
        },
        { timeoutMs: 60_000 },
      );
      const { Cluster } = (await west.call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, SourceBackupId: copyId })) as {
        Cluster: { ClusterId: string };
      };
      await west.call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-west-2a' });
      assert.equal(await west.clusters.onHsms(Cluster.ClusterId, (contents) => contents.keys.length), 100);
      const stored = JSON.parse((await west.store.get(`hsm/contents/${Cluster.ClusterId}`))!) as { hsmVault?: string };
      assert.ok(stored.hsmVault);
    });
  });
}
