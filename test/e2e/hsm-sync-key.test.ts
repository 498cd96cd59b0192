import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CopyBackupToRegionCommand, DescribeBackupsCommand } from '@aws-sdk/client-cloudhsm-v2';
import { eventually } from './eventually.ts';
import { BIN, startDev, type DevDeployment } from './harness.ts';
import { Clusters, shell, writeConf } from './hsm-shells.ts';

const OFFICER = 'officer-pass-1';
const ALICE = 'alice-pass-1';
const BOB = 'bob-pass-1';
const TMUX_SOCKET = `concord-hsm-${process.pid}`;

/** The handles `findAllKeys` printed for one server. */
const handlesOn = (stdout: string, server: string): string => {
  const section = stdout.split(`Keys on ${server}:\n`)[1] ?? '';
  return section.split('\n')[2] ?? '';
};

/**
 * Seed 000, end to end: a cluster in us-east-1 with two HSMs, a crypto user's key made with
 * hsm-keys, the backup copied to us-west-2 and a cluster made from it there, a key made after
 * the backup found with findAllKeys and synced with `server 0` + `syncKey <handle> 1`, then used
 * on the destination; every refusal of syncKey.
 */
describe('syncKey between a cluster and its clone in another region, through concord hsm-mgmt and hsm-keys', () => {
  let dev: DevDeployment;
  let dir: string;
  let clusters: Clusters;
  let east: { clusterId: string; hsm: { HsmId: string; EniIp: string } };
  let westHsm: { HsmId: string; EniIp: string };
  let eastConf: string;
  let westConf: string;
  let syncConf: string;
  let aliceId: string;
  let afterBackup: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-hsm-sync-'));
    dev = await startDev();
    clusters = new Clusters(dev, dir);
    east = await clusters.initialized('us-east-1');
    eastConf = writeConf(dir, 'east.cfg', [{ hostname: east.hsm.EniIp, endpoint: dev.endpoint('us-east-1') }]);
  });
  after(async () => {
    try {
      execFileSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // No tmux server was left running.
    }
    await dev.stop();
  });

  it('prints the servers in file order at start-up, and activates the cluster: the precrypto officer changes its password, then creates crypto users', async () => {
    const run = await shell('hsm-mgmt', eastConf, [
      'loginHSM PRECO admin password',
      `changePswd PRECO admin ${OFFICER}`,
      'y',
      `createUser CU alice ${ALICE}`,
      'y',
      `createUser CU bob ${BOB}`,
      'y',
      'listUsers',
      'quit',
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const ip = east.hsm.EniIp;
    assert.ok(
      run.stdout.startsWith(
        `Connecting to the server(s), it may take time\ndepending on the server(s) load, please wait...\n\nConnecting to server '${ip}': hostname '${ip}', port 2225...\nConnected to server '${ip}': hostname '${ip}', port 2225.\nE2E enabled on server 0(${ip})\n`,
      ),
    );
    assert.ok(run.stdout.includes(`\nloginHSM success on server 0(${ip})\n`));
    assert.ok(run.stdout.includes(`Do you want to continue(y/n)?y\nChanging password for admin(PRECO) on 1 nodes\nchangePswd success on server 0(${ip})\n`));
    assert.ok(
      run.stdout.includes(
        `Users on server 0(${ip}):\nNumber of users found:3\n\n    User Id             User Type       User Name            MofnPubKey    LoginFailureCnt         2FA\n         1              PCO             admin                      NO               0               NO\n         2              CU              alice                      NO               0               NO\n`,
      ),
      run.stdout,
    );
    assert.equal((await clusters.describe('us-east-1', east.clusterId)).State, 'ACTIVE');
    aliceId = '2';
  });

  it('a crypto user makes a key with hsm-keys; a second HSM backs the cluster up, the backup goes to us-west-2 and a cluster is made from it', async () => {
    const run = await shell('hsm-keys', eastConf, [`loginHSM -u CU -s alice -p ${ALICE}`, 'genSymKey -t 31 -s 32 -l before-backup', 'exit']);
    assert.ok(
      run.stdout.includes(
        '\n        Cfm3GenerateSymmetricKey returned: 0x00 : HSM Return: SUCCESS\n\n        Symmetric Key Created.  Key Handle: 1\n\n        Cluster Error Status\n        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n',
      ),
      run.stdout,
    );
    await clusters.addHsm('us-east-1', east.clusterId, 'us-east-1b');
    const eastClient = clusters.client('us-east-1');
    const { Backups } = await eastClient.send(new DescribeBackupsCommand({ Filters: { clusterIds: [east.clusterId] } }));
    const backupId = Backups![0]!.BackupId!;
    await eastClient.send(new CopyBackupToRegionCommand({ BackupId: backupId, DestinationRegion: 'us-west-2' }));
    let copyId = '';
    await eventually(async () => {
      const { Backups: copies } = await clusters.client('us-west-2').send(new DescribeBackupsCommand({ Filters: { sourceBackupIds: [backupId] } }));
      assert.equal(copies?.[0]?.BackupState, 'READY');
      copyId = copies[0].BackupId!;
    });
    const clone = await clusters.create('us-west-2', copyId);
    westHsm = await clusters.addHsm('us-west-2', clone);
    assert.equal((await clusters.describe('us-west-2', clone)).State, 'ACTIVE');
    westConf = writeConf(dir, 'west.cfg', [{ hostname: westHsm.EniIp, endpoint: dev.endpoint('us-west-2') }]);
    syncConf = writeConf(dir, 'sync.cfg', [
      { hostname: east.hsm.EniIp, endpoint: dev.endpoint('us-east-1') },
      { hostname: westHsm.EniIp, endpoint: dev.endpoint('us-west-2') },
    ]);
  });

  it('finds a key made after the backup with findAllKeys, syncs it with server 0 + syncKey <handle> 1, and findAllKeys shows it on server 1', async () => {
    const made = await shell('hsm-keys', eastConf, [`loginHSM -u CU -s alice -p ${ALICE}`, 'genSymKey -t 31 -s 32 -l after-backup -id seed-000']);
    afterBackup = /Key Handle: (\d+)/.exec(made.stdout)![1]!;
    const eastIp = east.hsm.EniIp;
    const westIp = westHsm.EniIp;
    const run = await shell('hsm-mgmt', syncConf, [
      `loginHSM CO admin ${OFFICER}`,
      `findAllKeys ${aliceId} 0`,
      'server 0',
      `syncKey ${afterBackup} 1`,
      'exit',
      `findAllKeys ${aliceId} 1`,
      'quit',
    ]);
    assert.equal(run.code, 0, run.stdout);
    assert.ok(run.stdout.includes(`Connected to server '${westIp}': hostname '${westIp}', port 2225.\nE2E enabled on server 1(${westIp})\n`));
    assert.ok(run.stdout.includes(`\nloginHSM success on server 0(${eastIp})\nloginHSM success on server 1(${westIp})\n`));
    assert.ok(
      run.stdout.includes(
        `Keys on server 0(${eastIp}):\nNumber of keys found 2\nnumber of keys matched from start index 0::2\n1(o),${afterBackup}(o)\nfindAllKeys success on server 0(${eastIp})\n\nKeys on server 1(${westIp}):\nNumber of keys found 1\nnumber of keys matched from start index 0::1\n1(o)\nfindAllKeys success on server 1(${westIp})\n`,
      ),
      run.stdout,
    );
    assert.ok(run.stdout.includes("\nServer is in 'E2' mode...\nsyncKey success\n"), run.stdout);
    assert.match(handlesOn(run.stdout.split('syncKey success')[1]!, `server 1(${westIp})`), /^1\(o\),\d+\(o\)$/);
    assert.match(run.stdout, /Key Hash:\n[0-9a-f]{64}\n\nfindAllKeys success on server 1/);
  });

  it('uses the synced key on the destination: findKey finds it by label and getAttribute shows the same attributes and key check value', async () => {
    const attributes = async (conf: string, handleOf: (stdout: string) => string) => {
      const found = await shell('hsm-keys', conf, [`loginHSM -u CU -s alice -p ${ALICE}`, 'findKey -l after-backup']);
      const handle = handleOf(found.stdout);
      const out = join(dir, `attributes-${conf.endsWith('west.cfg') ? 'west' : 'east'}`);
      const run = await shell('hsm-keys', conf, [`loginHSM -u CU -s alice -p ${ALICE}`, `getAttribute -o ${handle} -a 512 -out ${out}`]);
      assert.ok(run.stdout.includes(`Attributes dumped into ${out} file\n\n        Cfm3GetAttribute returned: 0x00 : HSM Return: SUCCESS\n`), run.stdout);
      return readFileSync(out, 'utf8');
    };
    const listed = (stdout: string) => /matched from start index 0::0\n(\d+)\n/.exec(stdout)![1]!;
    const there = await attributes(westConf, listed);
    assert.equal(there, await attributes(eastConf, () => afterBackup));
    assert.ok(there.startsWith('OBJ_ATTR_CLASS\n0x04\nOBJ_ATTR_KEY_TYPE\n0x1f\nOBJ_ATTR_TOKEN\n0x01\n'), there);
    assert.match(there, /OBJ_ATTR_LABEL\nafter-backup\nOBJ_ATTR_ID\nseed-000\nOBJ_ATTR_VALUE_LEN\n0x00000020\nOBJ_ATTR_KCV\n0x[0-9a-f]{6}\n$/);
  });

  it('syncing the same key twice changes nothing on the destination', async () => {
    const before = await shell('hsm-mgmt', westConf, [`loginHSM CO admin ${OFFICER}`, `findAllKeys ${aliceId} 0`]);
    const run = await shell('hsm-mgmt', syncConf, [
      `loginHSM CO admin ${OFFICER}`,
      'server 0',
      `syncKey ${afterBackup} 1`,
      'exit',
      'server 1',
      `findAllKeys ${aliceId} 0`,
    ]);
    assert.ok(run.stdout.includes('syncKey success\n'));
    assert.equal(handlesOn(run.stdout, `server 1(${westHsm.EniIp})`), handlesOn(before.stdout, `server 0(${westHsm.EniIp})`));
  });

  it('runs the seed scenario interactively in tmux: prompt, server mode and syncKey success on a terminal', async () => {
    const made = await shell('hsm-keys', eastConf, [`loginHSM -u CU -s alice -p ${ALICE}`, 'genSymKey -t 31 -s 16 -l in-tmux']);
    const handle = /Key Handle: (\d+)/.exec(made.stdout)![1]!;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', 'cmu', '-x', '200', '-y', '50', `HOME=${dir} ${process.execPath} ${BIN} hsm-mgmt --conf ${syncConf}`);
    const screen = () => tmux('capture-pane', '-p', '-t', 'cmu', '-S', '-100');
    const type = async (line: string, expect: string) => {
      tmux('send-keys', '-t', 'cmu', '-l', line);
      tmux('send-keys', '-t', 'cmu', 'Enter');
      await eventually(() => {
        assert.ok(screen().includes(expect), screen());
      });
    };
    await eventually(() => {
      assert.ok(screen().includes('aws-cloudhsm>'), screen());
    });
    await type(`loginHSM CO admin ${OFFICER}`, `loginHSM success on server 1(${westHsm.EniIp})`);
    await type('server 0', 'server0>');
    await type(`syncKey ${handle} 1`, `server0> syncKey ${handle} 1\nsyncKey success`);
    await type('exit', 'server0> exit\naws-cloudhsm>');
    tmux('send-keys', '-t', 'cmu', 'Up', 'Up');
    await eventually(() => {
      assert.ok(screen().trimEnd().endsWith(`aws-cloudhsm> syncKey ${handle} 1`), screen());
    });
  });

  it('refuses syncKey outside server mode, with an unknown handle or an unknown server', async () => {
    const run = await shell('hsm-mgmt', syncConf, [
      `loginHSM CO admin ${OFFICER}`,
      `syncKey ${afterBackup} 1`,
      'server 0',
      'syncKey 424242 1',
      `syncKey ${afterBackup} 7`,
    ]);
    assert.equal(run.code, 1);
    assert.ok(run.stdout.includes('syncKey failed: syncKey runs in server mode: enter it on the source HSM first (server <server ID>)\n'));
    assert.ok(run.stdout.includes('syncKey failed: key handle 424242 does not exist\n'), run.stdout);
    assert.ok(run.stdout.includes('syncKey failed: server 7 is not in the configuration (servers 0 to 1)\n'));
    assert.ok(!run.stdout.includes('syncKey success'));
  });

  it('refuses a crypto user syncing a key it does not own, and lets the owner sync its own, shared with the same user there', async () => {
    const bob = await shell('hsm-mgmt', syncConf, [`loginHSM CU bob ${BOB}`, 'server 0', `syncKey ${afterBackup} 1`]);
    assert.ok(bob.stdout.includes(`syncKey failed: key ${afterBackup} is not owned by bob; a crypto user syncs only its own keys\n`), bob.stdout);
    const made = await shell('hsm-keys', eastConf, [`loginHSM -u CU -s alice -p ${ALICE}`, 'genSymKey -t 31 -s 32 -l shared-with-bob -u 3']);
    const shared = /Key Handle: (\d+)/.exec(made.stdout)![1]!;
    const alice = await shell('hsm-mgmt', syncConf, [`loginHSM CU alice ${ALICE}`, `getKeyInfo -k ${shared}`, 'server 0', `syncKey ${shared} 1`]);
    assert.ok(
      alice.stdout.includes(
        `Key Info on server 0(${east.hsm.EniIp}):\n\n        Token/Flash Key,\n\n        Owned by user 2\n\n        also, shared to following 1 user(s):\n\n                 3\n`,
      ),
      alice.stdout,
    );
    assert.ok(alice.stdout.includes('syncKey success\n'), alice.stdout);
    const there = await shell('hsm-mgmt', westConf, [`loginHSM CO admin ${OFFICER}`, 'findAllKeys 3 0', 'info server 0']);
    assert.match(handlesOn(there.stdout, `server 0(${westHsm.EniIp})`), /^\d+\(s\)$/);
    assert.ok(
      there.stdout.includes(
        `0       ${westHsm.EniIp.padEnd(24)}${westHsm.EniIp.padEnd(16)}2225    Connected       ${westHsm.HsmId.padEnd(24)}Logged in as 'admin(PCO)'\n`,
      ),
      there.stdout,
    );
  });

  it('refuses clusters not of the same lineage: a cluster made from nothing in us-west-2 is not the clone', async () => {
    const stranger = await clusters.initialized('us-west-2');
    // That cluster's HSM has the clone's ENI IP in us-west-2: the configuration names both by HSM ID.
    const strangerConf = writeConf(dir, 'stranger.cfg', [{ hostname: stranger.hsm.HsmId, endpoint: dev.endpoint('us-west-2') }]);
    await shell('hsm-mgmt', strangerConf, ['loginHSM PRECO admin password', `changePswd PRECO admin ${OFFICER}`, 'y', `createUser CU alice ${ALICE}`, 'y']);
    const conf = writeConf(dir, 'unrelated.cfg', [
      { hostname: east.hsm.EniIp, endpoint: dev.endpoint('us-east-1') },
      { hostname: stranger.hsm.HsmId, endpoint: dev.endpoint('us-west-2') },
    ]);
    const run = await shell('hsm-mgmt', conf, [`loginHSM CO admin ${OFFICER}`, 'server 0', `syncKey ${afterBackup} 1`]);
    assert.ok(
      run.stdout.includes(
        `syncKey failed: cluster ${stranger.clusterId} was not created from a backup of the source cluster, nor the source from one of it: keys sync only between related clusters\n`,
      ),
      run.stdout,
    );
  });

  it('refuses user credentials that differ between the clusters, until syncUser brings the password over', async () => {
    const westById = writeConf(dir, 'west-by-id.cfg', [{ hostname: westHsm.HsmId, endpoint: dev.endpoint('us-west-2') }]);
    await shell('hsm-mgmt', westById, [`loginHSM CO admin ${OFFICER}`, 'changePswd CU alice another-pass', 'y']);
    const conf = writeConf(dir, 'differ.cfg', [
      { hostname: east.hsm.EniIp, endpoint: dev.endpoint('us-east-1') },
      { hostname: westHsm.HsmId, endpoint: dev.endpoint('us-west-2') },
    ]);
    const run = await shell('hsm-mgmt', conf, [`loginHSM CU alice ${ALICE}`, 'server 0', `syncKey ${afterBackup} 1`]);
    assert.ok(run.stdout.includes(`loginHSM failed on server 1(${westHsm.HsmId}): invalid password\n`), run.stdout);
    assert.ok(
      run.stdout.includes(
        `syncKey failed: not logged in on server 1(${westHsm.HsmId}): log in with the same user on both servers (user credentials must be the same on both clusters)\n`,
      ),
      run.stdout,
    );
    const fixed = await shell('hsm-mgmt', conf, [`loginHSM CO admin ${OFFICER}`, 'server 0', `syncUser ${aliceId} 1`]);
    assert.ok(fixed.stdout.includes("\nServer is in 'E2' mode...\nExtractMaskedObject: 0x0 !\nInsertMaskedObject: 0x0 !\nsyncUser success\n"), fixed.stdout);
    const again = await shell('hsm-mgmt', conf, [`loginHSM CU alice ${ALICE}`, 'server 0', `syncKey ${afterBackup} 1`]);
    assert.ok(again.stdout.includes('syncKey success\n'), again.stdout);
  });
});
