import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService, keyPath, type KeyRecord } from '../kms/index.ts';
import { SqliteStore } from '../store/index.ts';
import { MultiRegionKeys } from './multi-region-keys.ts';
import { PeerAuthenticator } from './peer-auth.ts';
import { RegionIdentity } from './region-identity.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const ACCOUNT = '111122223333';
const caller = { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root` };
const [EAST, WEST] = ['us-east-1', 'us-west-2'];
const dir = mkdtempSync(join(tmpdir(), 'concord-replica-deletion-'));
const identities = { [EAST]: RegionIdentity.openOrInit(join(dir, 'east-identity.json')), [WEST]: RegionIdentity.openOrInit(join(dir, 'west-identity.json')) };

/** One region as startRegion builds it, minus HTTP, with a clock the test moves. */
function region(name: string, peerName: string, clock: () => number) {
  const store = new SqliteStore(join(dir, `${name}.db`));
  const peers = { [peerName]: { url: 'http://127.0.0.1:1', publicKey: identities[peerName]!.publicKey } };
  const multiRegion = new MultiRegionKeys({ region: name, store, identity: identities[name]!, peers, logger: pino({ level: 'silent' }) });
  const service = new KeyService({
    region: name,
    account: ACCOUNT,
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, `${name}-unit.json`)),
    now: clock,
    hooks: multiRegion.hooks,
    moreOperations: multiRegion.operations,
  });
  const call = (operation: string, input: Record<string, unknown>) => service.operation(operation)!(input, caller);
  /** Gives a key the regions it would have after ReplicateKey, whose peer exchange the e2e tests cover. */
  const placeKey = (keyId: string, primaryRegion: string, replicaRegions: string[]) =>
    store.transaction(async (tx) => {
      const key = JSON.parse((await tx.get(keyPath(keyId)))!) as KeyRecord;
      key.multiRegionConfig = { version: 1, primaryRegion, replicaRegions };
      tx.put(keyPath(keyId), JSON.stringify(key));
    });
  return { store, multiRegion, service, call, placeKey };
}

describe('deleting a multi-Region primary after its replicas', () => {
  let now = Date.UTC(2030, 0, 1);
  const east = region(EAST, WEST, () => now);
  const west = region(WEST, EAST, () => now);
  after(async () => {
    await east.multiRegion.outbox.close();
    await west.multiRegion.outbox.close();
    await east.store.close();
    await west.store.close();
  });
  const state = async (r: typeof east, KeyId: string) => ((await r.call('DescribeKey', { KeyId })).KeyMetadata as { KeyState: string; PendingDeletionWindowInDays?: number; DeletionDate?: number });

  it('waits in PendingReplicaDeletion until the last replica is gone, then starts its own window', async () => {
    const KeyId = ((await east.call('CreateKey', { MultiRegion: true })).KeyMetadata as { KeyId: string }).KeyId;
    await east.placeKey(KeyId, EAST, [WEST]);
    const scheduled = await east.call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    assert.equal(scheduled.KeyState, 'PendingReplicaDeletion');
    assert.equal(scheduled.DeletionDate, undefined);
    assert.equal((await state(east, KeyId)).PendingDeletionWindowInDays, 7);

    now += 60 * DAY_MS;
    assert.equal(await east.service.sweep(), 0);
    assert.equal((await state(east, KeyId)).KeyState, 'PendingReplicaDeletion');

    const westAuth = new PeerAuthenticator(WEST, identities[WEST]!, { [EAST]: { url: 'http://127.0.0.1:1', publicKey: identities[EAST]!.publicKey } });
    const body = JSON.stringify({ keyId: KeyId });
    const request = { action: 'replica-deleted', headers: westAuth.signRequest(EAST, 'replica-deleted', body).headers, body: Buffer.from(body) };
    assert.equal((await east.multiRegion.peerApi.handle(request)).status, 200);
    const pending = await state(east, KeyId);
    assert.equal(pending.KeyState, 'PendingDeletion');
    assert.equal(pending.DeletionDate, (now + 7 * DAY_MS) / 1000);
    assert.equal((await east.multiRegion.peerApi.handle(request)).status, 401, 'a replayed notice is refused');

    now += 7 * DAY_MS - 1;
    assert.equal(await east.service.sweep(), 0);
    now += 2;
    assert.equal(await east.service.sweep(), 1);
    await assert.rejects(state(east, KeyId), { code: 'NotFoundException' });
  });

  it('deletes a replica on its own schedule and tells the primary through the outbox', async () => {
    const KeyId = ((await west.call('CreateKey', { MultiRegion: true })).KeyMetadata as { KeyId: string }).KeyId;
    await west.placeKey(KeyId, EAST, [WEST]);
    const scheduled = await west.call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    assert.equal(scheduled.KeyState, 'PendingDeletion');
    now += 7 * DAY_MS + 1;
    assert.equal(await west.service.sweep(), 1);
    const queued = (await west.store.list('outbox/')).map((entry) => JSON.parse(entry.value) as { kind: string; keyId: string; target: string });
    assert.deepEqual(
      queued.filter((message) => message.keyId === KeyId).map(({ kind, target }) => ({ kind, target })),
      [{ kind: 'replica-deleted', target: EAST }],
    );
  });
});
