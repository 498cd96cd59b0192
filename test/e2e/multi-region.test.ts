import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateKeyDescriptionCommand,
  UpdatePrimaryRegionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';
import { eventually } from './eventually.ts';

const [EAST, WEST, CENTRAL] = ['us-east-1', 'us-west-2', 'eu-central-1'] as const;

describe('multi-Region keys across the regions of one concord dev deployment', () => {
  let dev: DevDeployment;
  let kms: Record<string, KMSClient>;
  before(async () => {
    dev = await startDev({ regions: [EAST, WEST, CENTRAL] });
    kms = Object.fromEntries([EAST, WEST, CENTRAL].map((region) => [region, dev.client(region)]));
  });
  after(async () => {
    await dev.stop();
  });

  const createPrimary = async (region: string = EAST): Promise<string> => {
    const { KeyMetadata } = await kms[region]!.send(new CreateKeyCommand({ MultiRegion: true, Description: 'primary' }));
    return KeyMetadata!.KeyId!;
  };
  const describeIn = async (region: string, KeyId: string) => (await kms[region]!.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const replicate = async (KeyId: string, ReplicaRegion: string) => {
    const answer = await kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion }));
    await eventually(async () => {
      assert.equal((await describeIn(ReplicaRegion, KeyId)).KeyState, 'Enabled');
    });
    return answer;
  };

  it('replicates a primary key with the same key ID and shows the configuration in every region', async () => {
    const KeyId = await createPrimary();
    assert.match(KeyId, /^mrk-[0-9a-f]{32}$/);
    const answer = await kms[EAST]!.send(
      new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST, Description: 'replica', Tags: [{ TagKey: 'team', TagValue: 'west' }] }),
    );
    assert.equal(answer.ReplicaKeyMetadata?.KeyId, KeyId);
    assert.equal(answer.ReplicaKeyMetadata.Arn, `arn:aws:kms:${WEST}:111122223333:key/${KeyId}`);
    assert.equal(answer.ReplicaKeyMetadata.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
    assert.deepEqual(answer.ReplicaTags, [{ TagKey: 'team', TagValue: 'west' }]);
    assert.ok(answer.ReplicaPolicy?.includes('kms:*'));
    await eventually(async () => {
      assert.equal((await describeIn(WEST, KeyId)).KeyState, 'Enabled');
    });

    for (const region of [EAST, WEST]) {
      const metadata = await describeIn(region, KeyId);
      assert.equal(metadata.MultiRegion, true);
      assert.equal(metadata.MultiRegionConfiguration?.MultiRegionKeyType, region === EAST ? 'PRIMARY' : 'REPLICA');
      assert.deepEqual(metadata.MultiRegionConfiguration.PrimaryKey, { Arn: `arn:aws:kms:${EAST}:111122223333:key/${KeyId}`, Region: EAST });
      assert.deepEqual(metadata.MultiRegionConfiguration.ReplicaKeys, [{ Arn: `arn:aws:kms:${WEST}:111122223333:key/${KeyId}`, Region: WEST }]);
    }
    assert.equal((await describeIn(WEST, KeyId)).Description, 'replica');
    assert.equal((await describeIn(EAST, KeyId)).Description, 'primary');
  });

  it('decrypts in one region what another region encrypted, both ways', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    const context = { purpose: 'multi-region' };
    const fromEast = await kms[EAST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('from east'), EncryptionContext: context }));
    const inWest = await kms[WEST]!.send(new DecryptCommand({ CiphertextBlob: fromEast.CiphertextBlob, EncryptionContext: context }));
    assert.equal(Buffer.from(inWest.Plaintext!).toString(), 'from east');
    assert.equal(inWest.KeyId, `arn:aws:kms:${WEST}:111122223333:key/${KeyId}`);
    const fromWest = await kms[WEST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('from west') }));
    const inEast = await kms[EAST]!.send(new DecryptCommand({ CiphertextBlob: fromWest.CiphertextBlob }));
    assert.equal(Buffer.from(inEast.Plaintext!).toString(), 'from west');
  });

  it('refuses replication AWS refuses', async () => {
    const single = (await kms[EAST]!.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId: single, ReplicaRegion: WEST })), { name: 'UnsupportedOperationException' });
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: WEST })), { name: 'AlreadyExistsException' });
    await assert.rejects(kms[WEST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: CENTRAL })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: 'ap-south-1' })), { name: 'ValidationException' });
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: CENTRAL, Policy: '{"no":' })), {
      name: 'MalformedPolicyDocumentException',
    });
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: CENTRAL, Tags: [{ TagKey: 'aws:x', TagValue: 'y' }] })), {
      name: 'TagException',
    });
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId: 'arn:aws:kms:nowhere', ReplicaRegion: CENTRAL })), { name: 'InvalidArnException' });
    await kms[EAST]!.send(new DisableKeyCommand({ KeyId }));
    await assert.rejects(kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: CENTRAL })), { name: 'DisabledException' });
    await assert.rejects(describeIn(CENTRAL, KeyId), { name: 'NotFoundException' });
  });

  it('keeps description, tags, policy and enabled state per region', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    await kms[WEST]!.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'west only' }));
    await kms[WEST]!.send(new DisableKeyCommand({ KeyId }));
    assert.equal((await describeIn(EAST, KeyId)).Description, 'primary');
    assert.equal((await describeIn(EAST, KeyId)).KeyState, 'Enabled');
    assert.equal((await describeIn(WEST, KeyId)).KeyState, 'Disabled');
    assert.deepEqual((await kms[WEST]!.send(new ListResourceTagsCommand({ KeyId }))).Tags, []);
    assert.ok((await kms[WEST]!.send(new GetKeyPolicyCommand({ KeyId }))).Policy);
    await kms[WEST]!.send(new EnableKeyCommand({ KeyId }));
  });

  it('shares rotations of the primary with its replicas and refuses rotation on a replica', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    await replicate(KeyId, CENTRAL);
    await kms[EAST]!.send(new RotateKeyOnDemandCommand({ KeyId }));
    const rotated = await kms[EAST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('after rotation') }));
    for (const region of [WEST, CENTRAL]) {
      await eventually(async () => {
        const { Plaintext } = await kms[region]!.send(new DecryptCommand({ CiphertextBlob: rotated.CiphertextBlob }));
        assert.equal(Buffer.from(Plaintext!).toString(), 'after rotation');
      });
    }
    await assert.rejects(kms[WEST]!.send(new RotateKeyOnDemandCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms[WEST]!.send(new EnableKeyRotationCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms[WEST]!.send(new DisableKeyRotationCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    await kms[EAST]!.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 90 }));
    await eventually(async () => {
      const status = await kms[WEST]!.send(new GetKeyRotationStatusCommand({ KeyId }));
      assert.equal(status.KeyRotationEnabled, true);
      assert.equal(status.RotationPeriodInDays, 90);
    });
  });

  it('moves the primary to a replica region and back, serving cryptography throughout', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    await replicate(KeyId, CENTRAL);
    const blob = (await kms[EAST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('steady') }))).CiphertextBlob;
    for (const [from, to] of [
      [EAST, WEST],
      [WEST, EAST],
    ] as const) {
      await kms[from]!.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: to }));
      assert.equal(Buffer.from((await kms[from]!.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'steady');
      await eventually(async () => {
        for (const region of [EAST, WEST, CENTRAL]) {
          const metadata = await describeIn(region, KeyId);
          assert.equal(metadata.KeyState, 'Enabled', `${region} is ${metadata.KeyState}`);
          assert.equal(metadata.MultiRegionConfiguration?.PrimaryKey?.Region, to);
          assert.deepEqual(metadata.MultiRegionConfiguration.ReplicaKeys?.map((r) => r.Region).sort(), [EAST, WEST, CENTRAL].filter((r) => r !== to).sort());
        }
      });
      await assert.rejects(kms[from]!.send(new RotateKeyOnDemandCommand({ KeyId })), { name: 'UnsupportedOperationException' });
      await kms[to]!.send(new RotateKeyOnDemandCommand({ KeyId }));
      const fresh = (await kms[to]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('new primary') }))).CiphertextBlob;
      await eventually(async () => {
        assert.equal(Buffer.from((await kms[from]!.send(new DecryptCommand({ CiphertextBlob: fresh }))).Plaintext!).toString(), 'new primary');
      });
    }
  });

  it('refuses to move the primary to a replica that is not Enabled, changing nothing', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    await kms[WEST]!.send(new DisableKeyCommand({ KeyId }));
    await assert.rejects(kms[EAST]!.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST })), {
      name: 'DisabledException',
      message: `arn:aws:kms:${WEST}:111122223333:key/${KeyId} is disabled.`,
    });
    for (const region of [EAST, WEST]) assert.equal((await describeIn(region, KeyId)).MultiRegionConfiguration?.PrimaryKey?.Region, EAST);
    assert.equal((await describeIn(EAST, KeyId)).KeyState, 'Enabled');
    await kms[WEST]!.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    await assert.rejects(kms[EAST]!.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: WEST })), { name: 'KMSInvalidStateException' });
  });

  it('holds a primary in PendingReplicaDeletion while a replica remains, which deletes on its own schedule', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, WEST);
    const scheduled = await kms[EAST]!.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    assert.equal(scheduled.KeyState, 'PendingReplicaDeletion');
    assert.equal(scheduled.PendingWindowInDays, 7);
    assert.equal(scheduled.DeletionDate, undefined);
    const primary = await describeIn(EAST, KeyId);
    assert.equal(primary.KeyState, 'PendingReplicaDeletion');
    assert.equal(primary.PendingDeletionWindowInDays, 7);
    await assert.rejects(kms[EAST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })), { name: 'KMSInvalidStateException' });

    assert.equal((await describeIn(WEST, KeyId)).KeyState, 'Enabled');
    await kms[WEST]!.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('the replica still works') }));
    const replica = await kms[WEST]!.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 30 }));
    assert.equal(replica.KeyState, 'PendingDeletion');
    assert.ok(replica.DeletionDate);

    await kms[EAST]!.send(new CancelKeyDeletionCommand({ KeyId }));
    assert.equal((await describeIn(EAST, KeyId)).KeyState, 'Disabled');
    assert.equal((await describeIn(WEST, KeyId)).KeyState, 'PendingDeletion');
  });

  it('replicates a key awaiting imported material as a replica that awaits its own import', async () => {
    const { KeyMetadata } = await kms[EAST]!.send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
    const KeyId = KeyMetadata!.KeyId!;
    assert.equal(KeyMetadata?.KeyState, 'PendingImport');
    const answer = await kms[EAST]!.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: CENTRAL }));
    assert.equal(answer.ReplicaKeyMetadata?.KeyState, 'Creating');
    await eventually(async () => {
      assert.equal((await describeIn(CENTRAL, KeyId)).KeyState, 'PendingImport');
    });
    assert.equal((await describeIn(CENTRAL, KeyId)).Origin, 'EXTERNAL');
  });

  it('never writes the payloads that carry key material between regions to its log', async () => {
    const KeyId = await createPrimary();
    await replicate(KeyId, CENTRAL);
    await kms[EAST]!.send(new RotateKeyOnDemandCommand({ KeyId }));
    const log = dev.output();
    assert.match(log, /"operation":"peer:sync"/);
    assert.doesNotMatch(log, /"sealed"|"salt"|"ciphertext"|"transportKey"/);
  });
});
