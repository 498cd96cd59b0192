import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListKeyRotationsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  UpdatePrimaryRegionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { importKeyMaterial, keyState, replicatedExternalKey } from './key-material-import.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;

describe('multi-Region keys between separate concord server processes, one of them killed', () => {
  let servers: RegionServers;
  let east: KMSClient;
  let west: KMSClient;
  before(async () => {
    servers = await startRegionServers([EAST, WEST]);
    east = servers.client(EAST);
    west = servers.client(WEST);
  });
  after(async () => {
    await servers.stopAll();
  });

  const createPrimary = async (): Promise<string> => (await east.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
  const describeIn = async (client: KMSClient, KeyId: string) => (await client.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const decrypts = async (client: KMSClient, CiphertextBlob: Uint8Array | undefined, expected: string) => {
    assert.equal(Buffer.from((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), expected);
  };

  it('answers ReplicateKey to a dead region with a clear error and creates nothing anywhere', async () => {
    const KeyId = await createPrimary();
    await servers.kill(WEST);
    await assert.rejects(east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST })), (error: Error) => {
      assert.equal(error.name, 'DependencyTimeoutException');
      assert.match(error.message, /us-west-2 is unavailable.*no replica was created/);
      return true;
    });
    assert.deepEqual((await describeIn(east, KeyId)).MultiRegionConfiguration?.ReplicaKeys, []);
    await servers.start(WEST);
    await assert.rejects(describeIn(west, KeyId), { name: 'NotFoundException' });

    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      assert.equal((await describeIn(west, KeyId)).KeyState, 'Enabled');
    });
  });

  it('removes the replica a frozen region made after ReplicateKey had given up on it', async () => {
    const KeyId = await createPrimary();
    servers.signal(WEST, 'SIGSTOP');
    try {
      await assert.rejects(east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST })), { name: 'DependencyTimeoutException' });
    } finally {
      servers.signal(WEST, 'SIGCONT');
    }
    // Thawed, the region handles the request it had queued and holds a replica its primary never listed.
    await eventually(async () => {
      assert.equal((await describeIn(west, KeyId)).KeyState, 'Creating');
    });
    assert.deepEqual((await describeIn(east, KeyId)).MultiRegionConfiguration?.ReplicaKeys, []);
    await eventually(() => assert.rejects(describeIn(west, KeyId), { name: 'NotFoundException' }), { timeoutMs: 30000 });

    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      assert.equal((await describeIn(west, KeyId)).KeyState, 'Enabled');
    });
  });

  it('delivers a rotation made while a replica region was down once it returns, exactly once', async () => {
    const KeyId = await createPrimary();
    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      assert.equal((await describeIn(west, KeyId)).KeyState, 'Enabled');
    });
    await servers.kill(WEST);
    await east.send(new RotateKeyOnDemandCommand({ KeyId }));
    const { CiphertextBlob } = await east.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('written while west was down') }));
    // Long enough for several failed deliveries and a growing backoff.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await servers.start(WEST);
    await eventually(() => decrypts(west, CiphertextBlob, 'written while west was down'));
    const rotations = (await west.send(new ListKeyRotationsCommand({ KeyId }))).Rotations ?? [];
    assert.equal(rotations.length, 1);
    assert.equal(rotations[0]?.RotationType, 'ON_DEMAND');
  });

  it('refuses to move the primary to a region that is down, whose key policy cannot be consulted, and moves it once the region returns', async () => {
    const KeyId = await createPrimary();
    await east.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST }));
    await eventually(async () => {
      assert.equal((await describeIn(west, KeyId)).KeyState, 'Enabled');
    });
    await servers.kill(WEST);
    await assert.rejects(east.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST })), (error: Error) => {
      assert.equal(error.name, 'DependencyTimeoutException');
      assert.match(error.message, /us-west-2 is unavailable.*the primary Region was not changed/);
      return true;
    });
    const refused = await describeIn(east, KeyId);
    assert.equal(refused.KeyState, 'Enabled');
    assert.equal(refused.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
    const { CiphertextBlob } = await east.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('while west was down') }));

    await servers.start(WEST);
    await east.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST }));
    await eventually(async () => {
      const [inEast, inWest] = [await describeIn(east, KeyId), await describeIn(west, KeyId)];
      assert.equal(inEast.KeyState, 'Enabled');
      assert.equal(inWest.KeyState, 'Enabled');
      assert.equal(inEast.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
      assert.equal(inWest.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
      assert.deepEqual(
        inWest.MultiRegionConfiguration.ReplicaKeys?.map((r) => r.Region),
        [EAST],
      );
    });
    await decrypts(west, CiphertextBlob, 'while west was down');
  });

  it('refuses imported material a replica cannot check while its primary region is down, changing nothing, but takes back material it holds', async () => {
    const KeyId = await replicatedExternalKey(east, west, WEST);
    const material = randomBytes(32);
    await servers.kill(EAST);
    await assert.rejects(importKeyMaterial(west, KeyId, material), (error: Error) => {
      assert.equal(error.name, 'DependencyTimeoutException');
      assert.match(error.message, /us-east-1 is unavailable.*nothing was imported/);
      return true;
    });
    assert.equal(await keyState(west, KeyId), 'PendingImport');

    await servers.start(EAST);
    await importKeyMaterial(west, KeyId, material);
    await servers.kill(EAST);
    await west.send(new DeleteImportedKeyMaterialCommand({ KeyId }));
    await importKeyMaterial(west, KeyId, material);
    assert.equal(await keyState(west, KeyId), 'Enabled');
    await servers.start(EAST);
  });
});
