import { availableParallelism, loadavg } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyBackupToRegionCommand, DescribeBackupsCommand } from '@aws-sdk/client-cloudhsm-v2';
import { eventually } from '../test/e2e/eventually.ts';
import { startDev } from '../test/e2e/harness.ts';
import { activate, Clusters, hsmCall, hsmLogin } from '../test/e2e/hsm-shells.ts';

/**
 * `npm run bench:hsm-sync-key`: the latency of syncKey as `concord hsm-mgmt` performs it, from
 * an HSM of a cluster in us-east-1 to one of its clone in us-west-2 (one `concord dev` process
 * on loopback): the source's exportKey then the destination's importKey, each an HTTP request
 * that opens, changes and seals the cluster's contents. BENCH_KEYS keys (200 by default) are
 * made after the backup and synced one after the other; p50 and p99 of the whole syncKey.
 */
const KEYS = Number(process.env.BENCH_KEYS ?? 200);
const OFFICER = 'officer-pass-1';

const dev = await startDev({ extraArgs: ['--log-level', 'warn'] });
try {
  const clusters = new Clusters(dev, mkdtempSync(join(tmpdir(), 'concord-bench-hsm-')));
  const [east, west] = [dev.endpoint('us-east-1'), dev.endpoint('us-west-2')];
  const source = await clusters.initialized('us-east-1');
  await activate(east, source.hsm.HsmId, OFFICER, [['alice', 'alice-pass-1']]);
  await clusters.addHsm('us-east-1', source.clusterId, 'us-east-1b');
  const { Backups } = await clusters.client('us-east-1').send(new DescribeBackupsCommand({ Filters: { clusterIds: [source.clusterId] } }));
  const backupId = Backups![0]!.BackupId!;
  await clusters.client('us-east-1').send(new CopyBackupToRegionCommand({ BackupId: backupId, DestinationRegion: 'us-west-2' }));
  let copy = '';
  await eventually(async () => {
    const { Backups: copies } = await clusters.client('us-west-2').send(new DescribeBackupsCommand({ Filters: { sourceBackupIds: [backupId] } }));
    if (copies?.[0]?.BackupState !== 'READY') throw new Error('copy not ready');
    copy = copies[0].BackupId!;
  });
  const clone = await clusters.addHsm('us-west-2', await clusters.create('us-west-2', copy));

  const alice = await hsmLogin(east, source.hsm.HsmId, 'CU', 'alice', 'alice-pass-1');
  const handles: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    handles.push((await hsmCall(east, source.hsm.HsmId, 'commands/genSymKey', { keyType: 31, size: 32, label: `k${i}` }, alice)).body.handle as number);
  }
  const here = await hsmLogin(east, source.hsm.HsmId, 'CO', 'admin', OFFICER);
  const there = await hsmLogin(west, clone.HsmId, 'CO', 'admin', OFFICER);
  const latencies: number[] = [];
  const start = performance.now();
  for (const handle of handles) {
    const begun = performance.now();
    const exported = await hsmCall(east, source.hsm.HsmId, 'commands/exportKey', { handle }, here);
    const imported = await hsmCall(west, clone.HsmId, 'commands/importKey', { synced: exported.body.synced }, there);
    if (imported.status !== 200) throw new Error(`syncKey ${handle} failed: ${imported.text}`);
    latencies.push(performance.now() - begun);
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  console.log(
    JSON.stringify({
      keys: KEYS,
      cores: availableParallelism(),
      load1: loadavg()[0]!.toFixed(2),
      syncsPerSecond: (KEYS / seconds).toFixed(1),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    }),
  );
} finally {
  await dev.stop();
}
