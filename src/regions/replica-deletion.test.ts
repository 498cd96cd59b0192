import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService, type KmsApi, type OperationName } from '../kms/index.ts';
import { Outbox } from '../outbox/index.ts';
import { SqliteStore } from '../store/index.ts';
import { eventually } from '../../test/e2e/eventually.ts';
import { MultiRegionKeys } from './multi-region-keys.ts';
import { RegionIdentity } from './region-identity.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const ACCOUNT = '111122223333';
const caller = { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root` };
const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;
const dir = mkdtempSync(join(tmpdir(), 'concord-replica-deletion-'));

/** Serves a region's peer API over loopback HTTP, as the region server's peer routes do. */
function peerServer(api: () => MultiRegionKeys['peerApi']): Server {
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const action = request.url!.split('/').pop()!;
      void api()
        .handle({ action, headers: request.headers, body: Buffer.concat(chunks) })
        .then((answer) => response.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json' }).end(answer.body));
    });
  });
}

/** One region as startRegion builds it, with a clock the test moves. */
function region(name: string, peer: string, peerUrl: string, clock: () => number) {
  const store = new SqliteStore(join(dir, name, 'keys.db'));
  const identity = RegionIdentity.openOrInit(join(dir, name, 'identity.json'));
  const peerKey = RegionIdentity.openOrInit(join(dir, peer, 'identity.json')).publicKey;
  const logger = pino({ level: 'silent' });
  const outbox = new Outbox(store, logger);
  const multiRegion = new MultiRegionKeys({ region: name, store, identity, peers: { [peer]: { url: peerUrl, publicKey: peerKey } }, outbox, logger });
  const service = new KeyService({
    region: name,
    account: ACCOUNT,
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, name, 'crypto-unit.json')),
    now: clock,
    importedMaterialBinder: multiRegion.importedMaterialBinder,
    moreOperations: multiRegion.operations,
  });
  service.events.subscribe(multiRegion.subscriber);
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input']) => service.call(operation, input, caller);
  const describeKey = async (KeyId: string) =>
    (await call('DescribeKey', { KeyId })).KeyMetadata as { KeyState: string; PendingDeletionWindowInDays?: number; DeletionDate?: number };
  return { store, outbox, multiRegion, service, call, describeKey };
}

describe('deleting a multi-Region primary after its replicas, between two regions over HTTP', () => {
  let now = Date.UTC(2030, 0, 1);
  const servers = new Map<string, Server>();
  let east: ReturnType<typeof region>;
  let west: ReturnType<typeof region>;

  before(async () => {
    const url = async (name: string, api: () => MultiRegionKeys['peerApi']) => {
      const server = peerServer(api);
      servers.set(name, server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const [eastUrl, westUrl] = [await url(EAST, () => east.multiRegion.peerApi), await url(WEST, () => west.multiRegion.peerApi)];
    east = region(EAST, WEST, westUrl, () => now);
    west = region(WEST, EAST, eastUrl, () => now);
  });
  after(async () => {
    for (const r of [east, west]) {
      await r.outbox.close();
      await r.store.close();
    }
    for (const server of servers.values()) server.close();
  });

  it('waits in PendingReplicaDeletion until the replica is really deleted, then starts its own window', async () => {
    const KeyId = ((await east.call('CreateKey', { MultiRegion: true })).KeyMetadata as { KeyId: string }).KeyId;
    await east.call('ReplicateKey', { KeyId, ReplicaRegion: WEST });
    await eventually(async () => {
      assert.equal((await west.describeKey(KeyId)).KeyState, 'Enabled');
    });

    const scheduled = await east.call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    assert.equal(scheduled.KeyState, 'PendingReplicaDeletion');
    assert.equal(scheduled.DeletionDate, undefined);
    assert.equal((await east.describeKey(KeyId)).PendingDeletionWindowInDays, 7);
    assert.equal((await west.call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 10 })).KeyState, 'PendingDeletion');

    now += 8 * DAY_MS;
    assert.equal(await east.service.sweep(), 0, 'the primary waits for its replica, whatever its own window');
    assert.equal(await west.service.sweep(), 0);
    assert.equal((await east.describeKey(KeyId)).KeyState, 'PendingReplicaDeletion');

    now += 2 * DAY_MS + 1;
    assert.equal(await west.service.sweep(), 1);
    await assert.rejects(west.describeKey(KeyId), { code: 'NotFoundException' });
    const windowStart = now;
    await eventually(async () => {
      assert.equal((await east.describeKey(KeyId)).KeyState, 'PendingDeletion');
    });
    assert.equal((await east.describeKey(KeyId)).DeletionDate, (windowStart + 7 * DAY_MS) / 1000);
    await eventually(async () => {
      assert.deepEqual(await west.store.list('outbox/'), []);
    });
    assert.deepEqual(await east.store.list('outbox/'), []);

    now += 7 * DAY_MS - 1;
    assert.equal(await east.service.sweep(), 0);
    now += 2;
    assert.equal(await east.service.sweep(), 1);
    await assert.rejects(east.describeKey(KeyId), { code: 'NotFoundException' });
  });
});
