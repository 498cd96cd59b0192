import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, EnableKeyRotationCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { sample, scrape } from './metrics-scrape.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';

const EAST = 'us-east-1';
const WEST = 'us-west-2';
const TOKEN = 'replication-metrics-token-0001';

describe('replication in the metrics of a region whose peer goes away', () => {
  let servers: RegionServers;
  before(async () => {
    servers = await startRegionServers([EAST, WEST], { metrics: { bearerToken: TOKEN } });
  });
  after(() => servers.stopAll());

  it('shows the messages waiting for the peer and how long, and the peer down, until it is back', async () => {
    const east = servers.client(EAST);
    const metrics = () => scrape(`${servers.endpoint(EAST)}/metrics`, TOKEN);
    const KeyId = (await east.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      assert.equal(sample(await metrics(), 'concord_replication_outbox_messages', { peer: WEST }), 0);
    });
    assert.equal(sample(await metrics(), 'concord_peer_up', { peer: WEST }), 1);

    await servers.kill(WEST);
    // Automatic rotation is shared by the replicas: the change waits in the outbox for the peer.
    await east.send(new EnableKeyRotationCommand({ KeyId }));
    await eventually(async () => {
      const text = await metrics();
      assert.ok(sample(text, 'concord_replication_outbox_messages', { peer: WEST })! >= 1);
      assert.ok(sample(text, 'concord_replication_lag_seconds', { peer: WEST })! > 0);
      assert.equal(sample(text, 'concord_peer_up', { peer: WEST }), 0);
      // A peer away leaves the region ready.
      assert.equal(sample(text, 'concord_ready'), 1);
    });

    await servers.start(WEST);
    await eventually(
      async () => {
        const text = await metrics();
        assert.equal(sample(text, 'concord_replication_outbox_messages', { peer: WEST }), 0);
        assert.equal(sample(text, 'concord_replication_lag_seconds', { peer: WEST }), 0);
        assert.equal(sample(text, 'concord_peer_up', { peer: WEST }), 1);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
