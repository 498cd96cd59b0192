import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { SqliteStore } from '../store/index.ts';
import { CloudHsmService, type Authorize } from './cloud-hsm-service.ts';
import { CloudHsmError } from './hsm-error.ts';
import { generateSymmetricKey, keysOf, shareKey } from './hsm-keys.ts';
import { changePassword, createUser, deleteUser, HsmUserError, login } from './hsm-users.ts';
import { lineageKeyRecords, LineageKeys, sealContents } from './lineage-keys.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const allow: Authorize = () => Promise.resolve();
const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-'));
const store = new SqliteStore(join(dir, 'keys.db'));
const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
let now = Date.now();
const service = new CloudHsmService({ region: 'us-east-1', account: '111122223333', store, unit, now: () => now, backupIntervalMs: DAY_MS });
const call = (name: Parameters<CloudHsmService['call']>[0], input: Record<string, unknown>) => service.call(name, input, allow);

interface Cluster {
  ClusterId: string;
  State: string;
  CreateTimestamp: number;
  Hsms: { HsmId: string; EniIp: string; State: string }[];
  Certificates: { ClusterCsr?: string; ClusterCertificate?: string };
  SubnetMapping: Record<string, string>;
}
interface Backup {
  BackupId: string;
  BackupState: string;
  ClusterId?: string;
  DeleteTimestamp?: number;
}

const describeCluster = async (id: string): Promise<Cluster> =>
  ((await call('DescribeClusters', { Filters: { clusterIds: [id] } })) as { Clusters: Cluster[] }).Clusters[0]!;
const backupsOf = async (clusterId: string): Promise<Backup[]> =>
  ((await call('DescribeBackups', { Filters: { clusterIds: [clusterId] }, SortAscending: true })) as { Backups: Backup[] }).Backups;
const createCluster = async (extra: Record<string, unknown> = {}): Promise<Cluster> =>
  (
    (await call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], ...extra })) as {
      Cluster: Cluster;
    }
  ).Cluster;
const createHsm = async (clusterId: string, zone = 'us-east-1a') =>
  ((await call('CreateHsm', { ClusterId: clusterId, AvailabilityZone: zone })) as { Hsm: { HsmId: string; State: string } }).Hsm;

/** The customer's CA, made once with openssl. */
let caDir: string | undefined;
const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** The cluster's CSR signed by the customer's CA, as a customer does it with openssl; a fresh CA when `ownCa`. */
function signWithOwnCa(csr: string, ownCa = false): { signed: string; anchor: string } {
  let ca = ownCa ? undefined : caDir;
  if (ca === undefined) {
    ca = mkdtempSync(join(dir, 'ca-'));
    openssl(ca, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=Customer CA');
    if (!ownCa) caDir = ca;
  }
  writeFileSync(join(ca, 'cluster.csr'), csr);
  openssl(ca, 'x509', '-req', '-in', 'cluster.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cluster.crt', '-days', '3650');
  return { signed: readFileSync(join(ca, 'cluster.crt'), 'utf8'), anchor: readFileSync(join(ca, 'ca.crt'), 'utf8') };
}

async function initializedCluster(): Promise<Cluster> {
  const cluster = await createCluster();
  await createHsm(cluster.ClusterId);
  const { signed, anchor } = signWithOwnCa((await describeCluster(cluster.ClusterId)).Certificates.ClusterCsr!);
  // The test clock may be behind the certificates' start of validity, which is the real time.
  now = Math.max(now, Date.now());
  await call('InitializeCluster', { ClusterId: cluster.ClusterId, SignedCert: signed, TrustAnchor: anchor });
  return describeCluster(cluster.ClusterId);
}

const refused = (code: string) => (error: unknown) => error instanceof CloudHsmError && error.code === code;

describe('the CloudHSM cluster service', () => {
  after(() => store.close());

  it('creates clusters with IDs of the model, reports CREATE_IN_PROGRESS, and describes them UNINITIALIZED with epoch-second timestamps', async () => {
    const created = await createCluster();
    assert.match(created.ClusterId, /^cluster-[2-7a-z]{11}$/);
    assert.equal(created.State, 'CREATE_IN_PROGRESS');
    assert.deepEqual(created.SubnetMapping, { 'us-east-1a': 'subnet-0123456789abcdef0', 'us-east-1b': 'subnet-0123456789abcdef1' });
    const described = await describeCluster(created.ClusterId);
    assert.equal(described.State, 'UNINITIALIZED');
    assert.ok(Math.abs(described.CreateTimestamp - now / 1000) < 1);
  });

  it('issues the cluster CSR with the first HSM and initializes the cluster with a certificate signed by the customer CA', async () => {
    const cluster = await createCluster();
    assert.equal((await describeCluster(cluster.ClusterId)).Certificates.ClusterCsr, undefined);
    const hsm = await createHsm(cluster.ClusterId);
    assert.match(hsm.HsmId, /^hsm-[2-7a-z]{11}$/);
    assert.equal(hsm.State, 'CREATE_IN_PROGRESS');
    const csr = (await describeCluster(cluster.ClusterId)).Certificates.ClusterCsr!;
    assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
    execFileSync('openssl', ['req', '-verify', '-noout'], { input: csr, stdio: 'pipe' });
    const { signed, anchor } = signWithOwnCa(csr);
    now = Math.max(now, Date.now());
    const answer = await call('InitializeCluster', { ClusterId: cluster.ClusterId, SignedCert: signed, TrustAnchor: anchor });
    assert.equal(answer.State, 'INITIALIZE_IN_PROGRESS');
    const described = await describeCluster(cluster.ClusterId);
    assert.equal(described.State, 'INITIALIZED');
    assert.equal(described.Certificates.ClusterCertificate, signed);
    assert.equal(described.Certificates.ClusterCsr, undefined);
  });

  it('refuses a certificate for another key, or one not issued by the trust anchor', async () => {
    const cluster = await createCluster();
    await createHsm(cluster.ClusterId);
    const csr = (await describeCluster(cluster.ClusterId)).Certificates.ClusterCsr!;
    const mine = signWithOwnCa(csr);
    const other = await createCluster();
    await createHsm(other.ClusterId);
    const otherSigned = signWithOwnCa((await describeCluster(other.ClusterId)).Certificates.ClusterCsr!, true);
    await assert.rejects(
      call('InitializeCluster', { ClusterId: cluster.ClusterId, SignedCert: otherSigned.signed, TrustAnchor: otherSigned.anchor }),
      refused('CloudHsmInvalidRequestException'),
    );
    await assert.rejects(
      call('InitializeCluster', { ClusterId: cluster.ClusterId, SignedCert: mine.signed, TrustAnchor: otherSigned.anchor }),
      refused('CloudHsmInvalidRequestException'),
    );
    assert.equal((await describeCluster(cluster.ClusterId)).State, 'UNINITIALIZED');
  });

  it('backs up an initialized cluster once per backup interval, and a cluster made from a backup gets it with its first HSM', async () => {
    const cluster = await initializedCluster();
    assert.equal((await service.runBackground()).backedUp >= 1, true);
    const [backup] = await backupsOf(cluster.ClusterId);
    assert.match(backup!.BackupId, /^backup-[2-7a-z]{11}$/);
    assert.equal(backup!.BackupState, 'READY');
    await service.runBackground();
    assert.equal((await backupsOf(cluster.ClusterId)).length, 1);
    now += DAY_MS;
    await service.runBackground();
    assert.equal((await backupsOf(cluster.ClusterId)).length, 2);

    const clone = await createCluster({ SourceBackupId: `arn:aws:cloudhsm:us-east-1:111122223333:backup/${backup!.BackupId}` });
    assert.equal((await describeCluster(clone.ClusterId)).State, 'UNINITIALIZED');
    await assert.rejects(
      call('InitializeCluster', { ClusterId: clone.ClusterId, SignedCert: 'x', TrustAnchor: 'y' }),
      refused('CloudHsmInvalidRequestException'),
    );
    await createHsm(clone.ClusterId);
    const active = await describeCluster(clone.ClusterId);
    assert.equal(active.State, 'ACTIVE');
    assert.equal(active.Certificates.ClusterCertificate, cluster.Certificates.ClusterCertificate);
    // An HSM added to or removed from an active cluster makes a backup.
    const second = await createHsm(clone.ClusterId, 'us-east-1b');
    assert.equal((await backupsOf(clone.ClusterId)).length, 1);
    await call('DeleteHsm', { ClusterId: clone.ClusterId, HsmId: second.HsmId });
    assert.equal((await backupsOf(clone.ClusterId)).length, 2);
  });

  it('expires backups past the retention period but never the newest, keeps deleted ones restorable for 7 days, then deletes them', async () => {
    const cluster = await initializedCluster();
    await call('ModifyCluster', { ClusterId: cluster.ClusterId, BackupRetentionPolicy: { Type: 'DAYS', Value: '7' } });
    await service.runBackground();
    now += 3 * DAY_MS;
    await service.runBackground();
    now += 3 * DAY_MS;
    await service.runBackground();
    const [oldest, kept] = await backupsOf(cluster.ClusterId);
    await call('ModifyBackupAttributes', { BackupId: kept!.BackupId, NeverExpires: true });
    now += 30 * DAY_MS;
    await service.runBackground();
    const states = Object.fromEntries((await backupsOf(cluster.ClusterId)).map((b) => [b.BackupId, b.BackupState]));
    assert.equal(states[oldest!.BackupId], 'PENDING_DELETION');
    assert.equal(states[kept!.BackupId], 'READY');
    const newest = (await backupsOf(cluster.ClusterId)).at(-1)!;
    assert.equal(newest.BackupState, 'READY');

    const restored = (await call('RestoreBackup', { BackupId: oldest!.BackupId })) as { Backup: Backup };
    assert.equal(restored.Backup.BackupState, 'READY');
    const deleted = (await call('DeleteBackup', { BackupId: oldest!.BackupId })) as { Backup: Backup };
    assert.equal(deleted.Backup.BackupState, 'PENDING_DELETION');
    assert.ok(Math.abs(deleted.Backup.DeleteTimestamp! - now / 1000) < 1);
    await assert.rejects(call('DeleteBackup', { BackupId: oldest!.BackupId }), refused('CloudHsmInvalidRequestException'));
    now += 7 * DAY_MS;
    await service.runBackground();
    const gone = (await backupsOf(cluster.ClusterId)).find((b) => b.BackupId === oldest!.BackupId)!;
    assert.equal(gone.BackupState, 'DELETED');
    await assert.rejects(call('RestoreBackup', { BackupId: oldest!.BackupId }), refused('CloudHsmInvalidRequestException'));
  });

  it('refuses retention outside 7 to 379 days, unknown HSM types and unknown filters', async () => {
    for (const Value of ['6', '380', 'x']) {
      await assert.rejects(createCluster({ BackupRetentionPolicy: { Type: 'DAYS', Value } }), refused('CloudHsmInvalidRequestException'));
    }
    await assert.rejects(createCluster({ HsmType: 'hsm9.huge' }), refused('CloudHsmInvalidRequestException'));
    await assert.rejects(createCluster({ HsmType: 'hsm1.medium', Mode: 'NON_FIPS' }), refused('CloudHsmInvalidRequestException'));
    await assert.rejects(call('DescribeClusters', { Filters: { colour: ['red'] } }), refused('CloudHsmInvalidRequestException'));
  });

  it('deletes a cluster only without HSMs, and answers unknown IDs with CloudHsmResourceNotFoundException', async () => {
    const cluster = await createCluster();
    const hsm = await createHsm(cluster.ClusterId);
    await assert.rejects(call('DeleteCluster', { ClusterId: cluster.ClusterId }), refused('CloudHsmInvalidRequestException'));
    assert.deepEqual(await call('DeleteHsm', { ClusterId: cluster.ClusterId, HsmId: hsm.HsmId }), { HsmId: hsm.HsmId });
    const deleted = (await call('DeleteCluster', { ClusterId: cluster.ClusterId })) as { Cluster: Cluster };
    assert.equal(deleted.Cluster.State, 'DELETE_IN_PROGRESS');
    assert.equal((await describeCluster(cluster.ClusterId)).State, 'DELETED');
    await assert.rejects(call('DeleteCluster', { ClusterId: 'cluster-aaaaaaaaaaa' }), refused('CloudHsmResourceNotFoundException'));
    await assert.rejects(call('DeleteBackup', { BackupId: 'backup-aaaaaaaaaaa' }), refused('CloudHsmResourceNotFoundException'));
  });

  it('pages DescribeClusters with NextToken and refuses a token it did not give', async () => {
    for (let i = 0; i < 3; i++) await createCluster();
    const all = ((await call('DescribeClusters', {})) as { Clusters: Cluster[] }).Clusters.map((c) => c.ClusterId);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = (await call('DescribeClusters', { MaxResults: 2, ...(token ? { NextToken: token } : {}) })) as { Clusters: Cluster[]; NextToken?: string };
      seen.push(...page.Clusters.map((c) => c.ClusterId));
      token = page.NextToken;
    } while (token);
    assert.deepEqual(seen, all);
    await assert.rejects(call('DescribeClusters', { NextToken: 'bogus' }), refused('CloudHsmInvalidRequestException'));
  });

  it('tags clusters up to 50 tags and refuses the aws: prefix', async () => {
    const cluster = await createCluster({ TagList: [{ Key: 'team', Value: 'a' }] });
    const tags = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await call('TagResource', { ResourceId: cluster.ClusterId, TagList: tags });
    await assert.rejects(
      call('TagResource', { ResourceId: cluster.ClusterId, TagList: [{ Key: 'one-more', Value: '' }] }),
      refused('CloudHsmResourceLimitExceededException'),
    );
    await assert.rejects(call('TagResource', { ResourceId: cluster.ClusterId, TagList: [{ Key: 'aws:x', Value: '' }] }), refused('CloudHsmTagException'));
    await call('UntagResource', { ResourceId: cluster.ClusterId, TagKeyList: ['team'] });
    const listed = (await call('ListTags', { ResourceId: cluster.ClusterId })) as { TagList: { Key: string }[] };
    assert.equal(listed.TagList.length, 49);
    assert.ok(!listed.TagList.some((t) => t.Key === 'team'));
  });

  it('completes a copied backup only for the region that began it, and marks a copy whose data does not open DELETED', async () => {
    const lineageKey = randomBytes(32);
    const transfer = {
      sourceBackup: 'backup-abcdefghijk',
      sourceCluster: 'cluster-abcdefghijk',
      createdAt: now,
      hsmType: 'hsm2m.medium',
      mode: 'FIPS' as const,
    };
    const begin = (lineageId: string) => service.beginCopy({ ...transfer, sourceRegion: 'us-west-2', lineageId, tags: [] });
    const state = async (id: string) => ((await call('DescribeBackups', { Filters: { backupIds: [id] } })) as { Backups: Backup[] }).Backups[0]!.BackupState;

    const copy = await begin('lineage-a');
    assert.equal(await state(copy), 'CREATE_IN_PROGRESS');
    const data = sealContents(lineageKey, 'lineage-a', { users: [], keys: [], nextHandle: 1 });
    assert.equal(await service.completeCopy(copy, 'eu-west-1', 'lineage-a', lineageKey, data), false);
    assert.equal(await service.completeCopy(copy, 'us-west-2', 'lineage-b', lineageKey, data), false);
    assert.equal(await state(copy), 'CREATE_IN_PROGRESS');
    assert.equal(await service.completeCopy(copy, 'us-west-2', 'lineage-a', lineageKey, data), true);
    assert.equal(await state(copy), 'READY');

    const spoiled = await begin('lineage-c');
    assert.equal(await service.completeCopy(spoiled, 'us-west-2', 'lineage-c', randomBytes(32), data), true);
    assert.equal(await state(spoiled), 'DELETED');
  });

  it('re-wraps lineage keys in a master key rotation with the AAD they were wrapped with', async () => {
    const lineages = new LineageKeys(unit);
    const { lineageId, key, record } = await lineages.create();
    const reseal = async (wrapped: Buffer, aad: Buffer) => unit.wrap(await unit.unwrap(wrapped, aad), aad);
    const rewrapped = await lineageKeyRecords.rewrap(record, reseal, `hsm/lineages/${lineageId}`);
    assert.notEqual(rewrapped, record);
    await store.transaction((tx) => {
      tx.put(`hsm/lineages/${lineageId}`, rewrapped);
    });
    assert.deepEqual(await lineages.key(store, lineageId), key);
  });

  it('activates an initialized cluster when the precrypto officer changes the default password, and its backups carry its users to a clone', async () => {
    const cluster = await initializedCluster();
    await service.onHsms(cluster.ClusterId, (contents) => {
      const { user, error } = login(contents, 'PRECO', 'admin', 'password');
      assert.equal(error, undefined);
      assert.deepEqual(changePassword(contents, user!, 'admin', 'officer-secret-1'), { activated: true });
      createUser(contents, user!, 'CU', 'app_user', 'app-secret-1');
    });
    assert.equal((await describeCluster(cluster.ClusterId)).State, 'ACTIVE');
    // An HSM added to an active cluster makes a backup; a cluster from it has the same users.
    await createHsm(cluster.ClusterId, 'us-east-1b');
    const [backup] = await backupsOf(cluster.ClusterId);
    const clone = await createCluster({ SourceBackupId: backup!.BackupId });
    await createHsm(clone.ClusterId);
    const users = await service.onHsms(clone.ClusterId, (contents) => {
      assert.ok(login(contents, 'CO', 'admin', 'officer-secret-1').user);
      assert.ok(login(contents, 'CU', 'app_user', 'app-secret-1').user);
      return contents.users.map((u) => [u.id, u.type, u.name]);
    });
    assert.deepEqual(users, [
      [1, 'PCO', 'admin'],
      [2, 'CU', 'app_user'],
    ]);
  });

  it('locks a user out after five wrong passwords in a row until a crypto officer resets its password', async () => {
    const cluster = await initializedCluster();
    const officer = await service.onHsms(cluster.ClusterId, (contents) => {
      const { user } = login(contents, 'PRECO', 'admin', 'password');
      changePassword(contents, user!, 'admin', 'officer-secret-1');
      createUser(contents, user!, 'CU', 'app_user', 'app-secret-1');
      return user!;
    });
    for (let i = 0; i < 5; i++) {
      assert.equal(await service.onHsms(cluster.ClusterId, (contents) => login(contents, 'CU', 'app_user', 'wrong-password').error), 'invalid password');
    }
    const locked = await service.onHsms(cluster.ClusterId, (contents) => login(contents, 'CU', 'app_user', 'app-secret-1').error);
    assert.equal(locked, 'user app_user is locked out; a crypto officer must reset its password');
    await service.onHsms(cluster.ClusterId, (contents) => {
      changePassword(contents, officer, 'app_user', 'app-secret-2');
      assert.ok(login(contents, 'CU', 'app_user', 'app-secret-2').user);
    });
  });

  it('lets only crypto officers create and delete users, and a user change only its own password', async () => {
    const cluster = await initializedCluster();
    await service.onHsms(cluster.ClusterId, (contents) => {
      const officer = login(contents, 'PRECO', 'admin', 'password').user!;
      changePassword(contents, officer, 'admin', 'officer-secret-1');
      const cu = createUser(contents, officer, 'CU', 'app_user', 'app-secret-1');
      createUser(contents, officer, 'CU', 'other_user', 'other-secret-1');
      assert.throws(() => createUser(contents, cu, 'CO', 'sneaky', 'sneaky-secret'), HsmUserError);
      assert.throws(() => changePassword(contents, cu, 'other_user', 'taken-over-1'), HsmUserError);
      assert.throws(() => {
        deleteUser(contents, cu, 'other_user');
      }, HsmUserError);
      assert.throws(() => {
        deleteUser(contents, officer, 'admin');
      }, HsmUserError);
      assert.throws(() => createUser(contents, officer, 'CU', 'app_user', 'app-secret-1'), HsmUserError);
      assert.throws(() => createUser(contents, officer, 'CU', 'short_pw', 'abc'), HsmUserError);
      deleteUser(contents, officer, 'other_user');
      assert.deepEqual(
        contents.users.map((u) => u.name),
        ['admin', 'app_user'],
      );
    });
  });

  describe('syncKey between a cluster and a cluster made from its backup', () => {
    const officer = { type: 'CO' as const, name: 'admin', password: 'officer-secret-1' };
    const alice = { type: 'CU' as const, name: 'alice', password: 'alice-secret-1' };
    const bob = { type: 'CU' as const, name: 'bob', password: 'bob-secret-1' };
    let source: string;
    let clone: string;
    let aliceId: number;
    let bobId: number;

    /** An active cluster with crypto users alice and bob. */
    async function activeCluster(): Promise<string> {
      const { ClusterId } = await initializedCluster();
      await service.onHsms(ClusterId, (contents) => {
        const admin = login(contents, 'PRECO', 'admin', 'password').user!;
        changePassword(contents, admin, 'admin', officer.password);
        aliceId = createUser(contents, admin, 'CU', alice.name, alice.password).id;
        bobId = createUser(contents, admin, 'CU', bob.name, bob.password).id;
      });
      return ClusterId;
    }
    const newKey = (clusterId: string, label: string) =>
      service.asUser(clusterId, alice, (contents, user) => generateSymmetricKey(contents, user, { type: 31, bytes: 32, label }).handle);
    const handlesOf = (clusterId: string, userId: number) => service.onHsms(clusterId, (contents) => keysOf(contents, userId));

    before(async () => {
      source = await activeCluster();
      await newKey(source, 'before-backup');
      await createHsm(source, 'us-east-1b');
      const [backup] = await backupsOf(source);
      clone = (await createCluster({ SourceBackupId: backup!.BackupId })).ClusterId;
      await createHsm(clone);
    });

    it('syncs a key made after the backup, with its attributes, owner and sharing, and syncing twice changes nothing', async () => {
      const handle = await newKey(source, 'after-backup');
      await service.asUser(source, alice, (contents, user) => {
        shareKey(contents, user, handle, [bobId], true);
      });
      assert.equal((await handlesOf(clone, aliceId)).length, 1);
      const synced = await service.exportKeyForSync(source, alice, handle);
      assert.ok(!synced.sealed.includes(Buffer.from('after-backup').toString('base64')));
      const there = await service.importSyncedKey(clone, alice, synced);
      assert.equal(await service.importSyncedKey(clone, officer, await service.exportKeyForSync(source, officer, handle)), there);
      assert.deepEqual(await handlesOf(clone, aliceId), [
        { handle: 1, relation: 'o' },
        { handle: there, relation: 'o' },
      ]);
      assert.deepEqual(await handlesOf(clone, bobId), [{ handle: there, relation: 's' }]);
      const [original, copy] = await Promise.all(
        [
          [source, handle],
          [clone, there],
        ].map(([cluster, h]) => service.onHsms(cluster as string, (contents) => contents.keys.find((k) => k.handle === h)!)),
      );
      assert.deepEqual(copy!.attributes, original!.attributes);
      assert.equal(copy!.material, original!.material);
    });

    it('refuses a crypto user syncing a key it does not own, and an unknown handle', async () => {
      const handle = await newKey(source, 'alices');
      await assert.rejects(service.exportKeyForSync(source, bob, handle), /not owned by bob/);
      await assert.rejects(service.exportKeyForSync(source, alice, 999_999), /key handle 999999 does not exist/);
    });

    it('refuses clusters of different lineages, and credentials that differ between the clusters', async () => {
      const handle = await newKey(source, 'for-stranger');
      const stranger = await activeCluster();
      await assert.rejects(service.importSyncedKey(stranger, alice, await service.exportKeyForSync(source, alice, handle)), /not created from a backup/);
      await service.asUser(clone, officer, (contents, user) => {
        changePassword(contents, user, 'alice', 'changed-on-clone');
      });
      await assert.rejects(service.importSyncedKey(clone, alice, await service.exportKeyForSync(source, alice, handle)), HsmUserError);
    });
  });
});
