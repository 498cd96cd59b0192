import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { SqliteStore } from '../store/index.ts';
import { CloudHsmService } from './cloud-hsm-service.ts';
import { HSM_PATHS, type ClusterRecord } from './cluster-records.ts';
import { initialContents } from './hsm-contents.ts';
import { HsmShell, HsmShellError, type HsmShellActor } from './hsm-shell.ts';
import { LineageKeys, sealContents } from './lineage-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-shell-'));
const store = new SqliteStore(join(dir, 'keys.db'));
const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
let now = Date.now();
const service = new CloudHsmService({ region: 'us-east-1', account: '111122223333', store, unit, now: () => now });
const shell = new HsmShell(service, store, () => now);
const HOUR_MS = 60 * 60 * 1000;

/** A cluster with one HSM whose contents are those of a just initialized cluster (the certificate ceremony is cloud-hsm-service.test.ts's). */
async function initializedHsm(): Promise<string> {
  const allow = () => Promise.resolve();
  const { Cluster } = (await service.call('CreateCluster', { HsmType: 'hsm2m.medium', SubnetIds: ['subnet-0123456789abcdef0'] }, allow)) as {
    Cluster: { ClusterId: string };
  };
  const { Hsm } = (await service.call('CreateHsm', { ClusterId: Cluster.ClusterId, AvailabilityZone: 'us-east-1a' }, allow)) as { Hsm: { HsmId: string } };
  const cluster = JSON.parse((await store.get(HSM_PATHS.cluster(Cluster.ClusterId)))!) as ClusterRecord;
  const key = await store.transaction((tx) => new LineageKeys(unit).key(tx, cluster.lineageId));
  await store.transaction((tx) => {
    tx.put(HSM_PATHS.cluster(cluster.clusterId), JSON.stringify({ ...cluster, state: 'INITIALIZED' }));
    tx.put(HSM_PATHS.contents(cluster.clusterId), sealContents(key, cluster.lineageId, initialContents()));
  });
  return Hsm.HsmId;
}

const notLoggedIn = (error: unknown) => error instanceof HsmShellError && error.kind === 'NotLoggedIn';

describe('HSM shell sessions', () => {
  let hsm: string;
  let officer: string;

  before(async () => {
    hsm = await initializedHsm();
    officer = (await shell.login(hsm, { type: 'PRECO', name: 'admin', password: 'password' })).session as string;
    assert.deepEqual(await shell.run(hsm, officer, 'changePswd', { type: 'PRECO', name: 'admin', password: 'officer-pass' }), { activated: true });
    await shell.run(hsm, officer, 'createUser', { type: 'CU', name: 'alice', password: 'alice-pass' });
  });
  after(() => store.close());

  it("keeps the session of a user who changes its own password, the precrypto officer's becoming the primary crypto officer's", async () => {
    assert.deepEqual(await shell.run(hsm, officer, 'findAllKeys', { userId: 2, hash: false }), { keys: [] });
    assert.deepEqual(await shell.listUsers(hsm), {
      users: [
        { id: 1, type: 'PCO', name: 'admin', loginFailures: 0 },
        { id: 2, type: 'CU', name: 'alice', loginFailures: 0 },
      ],
    });
  });

  it("ends a user's sessions when a crypto officer resets its password", async () => {
    const alice = (await shell.login(hsm, { type: 'CU', name: 'alice', password: 'alice-pass' })).session as string;
    assert.deepEqual(await shell.run(hsm, alice, 'findKey', {}), { handles: [] });
    await shell.run(hsm, officer, 'changePswd', { type: 'CU', name: 'alice', password: 'alice-pass-2' });
    await assert.rejects(shell.run(hsm, alice, 'findKey', {}), /the session has ended; log in again/);
  });

  it('ends a session after 12 hours, when the background job deletes it, and refuses it on another HSM', async () => {
    const other = await initializedHsm();
    const alice = (await shell.login(hsm, { type: 'CU', name: 'alice', password: 'alice-pass-2' })).session as string;
    await assert.rejects(shell.run(other, alice, 'findKey', {}), notLoggedIn);
    now += 12 * HOUR_MS;
    await assert.rejects(shell.run(hsm, alice, 'findKey', {}), notLoggedIn);
    assert.ok((await shell.purgeSessions()) >= 2);
    assert.equal(await shell.purgeSessions(), 0);
  });

  it('names an HSM by its ID or its ENI IP, and refuses an IP that HSMs of two clusters share', async () => {
    const ip = (await shell.locate(hsm)).eniIp;
    await assert.rejects(shell.locate(ip), /used by HSMs of several clusters in this region; name the HSM by its ID/);
    await assert.rejects(shell.locate('10.9.9.9'), (error) => error instanceof HsmShellError && error.kind === 'NoSuchHsm');
  });

  it('tells who acts as it learns it: the HSM located, the user a login tries (not a name that is no user’s), a session’s user', async () => {
    const seen: HsmShellActor[] = [];
    const see = (actor: HsmShellActor) => seen.push(actor);
    const { clusterId } = await shell.locate(hsm);
    await assert.rejects(shell.login(hsm, { type: 'CU', name: 'alice', password: 'not-alices' }, see), /invalid password/);
    assert.deepEqual(seen, [
      { clusterId, hsmId: hsm },
      { clusterId, hsmId: hsm, user: { id: 2, name: 'alice', type: 'CU' } },
    ]);
    seen.length = 0;
    await assert.rejects(shell.login(hsm, { type: 'CU', name: 'alice-pass-2', password: 'alice' }, see), /invalid user name or type/);
    assert.deepEqual(seen, [{ clusterId, hsmId: hsm }]);
    seen.length = 0;
    const token = (await shell.login(hsm, { type: 'CO', name: 'admin', password: 'officer-pass' }, see)).session as string;
    assert.deepEqual(seen.at(-1), { clusterId, hsmId: hsm, user: { id: 1, name: 'admin', type: 'PCO' } });
    seen.length = 0;
    await shell.run(hsm, token, 'findAllKeys', { userId: 2 }, see);
    assert.deepEqual(seen, [
      { clusterId, hsmId: hsm },
      { clusterId, hsmId: hsm, user: { id: 1, name: 'admin', type: 'PCO' } },
    ]);
    seen.length = 0;
    await assert.rejects(shell.run(hsm, 'no-such-session', 'findAllKeys', { userId: 2 }, see), notLoggedIn);
    assert.deepEqual(seen, [{ clusterId, hsmId: hsm }]);
  });
});
