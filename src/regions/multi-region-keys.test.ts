import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService } from '../kms/index.ts';
import { Outbox } from '../outbox/index.ts';
import { SqliteStore } from '../store/index.ts';
import { MultiRegionKeys } from './multi-region-keys.ts';
import { PeerAuthenticator } from './peer-auth.ts';
import { PeerNonces } from './peer-nonces.ts';
import { RegionIdentity } from './region-identity.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;

it("judges peer timestamps and forgets peer nonces by the store's clock, not by the clock of the node it runs on", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-peer-clock-'));
  const [east, west] = [RegionIdentity.openOrInit(join(dir, 'east.json')), RegionIdentity.openOrInit(join(dir, 'west.json'))];
  const store = new SqliteStore(join(dir, 'west.db'));
  const logger = pino({ level: 'silent' });
  const outbox = new Outbox(store, logger);
  const multiRegion = new MultiRegionKeys({
    region: WEST,
    store,
    identity: west,
    peers: { [EAST]: { url: 'http://127.0.0.1:1', publicKey: east.publicKey } },
    outbox,
    logger,
  });
  const service = new KeyService({
    region: WEST,
    account: '111122223333',
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, 'unit.json')),
    importedMaterialBinder: multiRegion.importedMaterialBinder,
    moreOperations: multiRegion.operations,
  });
  service.events.subscribe(multiRegion.subscriber);
  const eastStore = new SqliteStore(join(dir, 'east.db'));
  const eastAuth = new PeerAuthenticator(EAST, east, { [WEST]: { url: 'http://127.0.0.1:1', publicKey: west.publicKey } }, new PeerNonces(eastStore), () =>
    eastStore.now(),
  );
  const request = { action: 'hello', ...(await eastAuth.signRequest(WEST, 'hello', '{}')), body: Buffer.from('{}') };

  // This node's clock runs an hour fast; the store's does not.
  const nodeClock = Date.now;
  t.mock.method(Date, 'now', () => nodeClock() + 60 * 60 * 1000);
  assert.equal((await multiRegion.peerApi.handle(request)).status, 200);
  assert.equal((await multiRegion.runBackground()).noncesForgotten, 0);
  assert.equal((await multiRegion.peerApi.handle(request)).status, 401, 'the replay is refused');

  await outbox.close();
  await Promise.all([store.close(), eastStore.close()]);
});
