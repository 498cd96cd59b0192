import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
  EnableKeyCommand,
  GenerateDataKeyCommand,
  ReEncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { startDev, type DevDeployment } from './harness.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The material version a Concord ciphertext blob names: after version, key ID length and key ID. */
const blobMaterialVersion = (blob: Uint8Array): number => Buffer.from(blob).readUInt32BE(2 + blob[1]!);

describe('key rotation through the AWS SDK', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  const createKey = async (input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}): Promise<string> =>
    (await kms.send(new CreateKeyCommand(input))).KeyMetadata!.KeyId!;
  const rotationChanges = (KeyId: string): (() => Promise<unknown>)[] => [
    () => kms.send(new EnableKeyRotationCommand({ KeyId })),
    () => kms.send(new DisableKeyRotationCommand({ KeyId })),
    () => kms.send(new RotateKeyOnDemandCommand({ KeyId })),
  ];

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    kms = dev.client();
  });
  after(async () => {
    await dev.stop();
  });

  it('enables automatic rotation with the default period, changes the period and disables it', async () => {
    const KeyId = await createKey();
    const off = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    assert.equal(off.KeyRotationEnabled, false);
    assert.equal(off.NextRotationDate, undefined);

    const enabledAt = Date.now();
    await kms.send(new EnableKeyRotationCommand({ KeyId }));
    const on = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    assert.equal(on.KeyRotationEnabled, true);
    assert.match(on.KeyId!, new RegExp(`^arn:aws:kms:us-east-1:\\d{12}:key/${KeyId}$`));
    assert.equal(on.RotationPeriodInDays, 365);
    assert.ok(Math.abs(on.NextRotationDate!.getTime() - (enabledAt + 365 * DAY_MS)) < 60_000);

    await kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 90 }));
    const shorter = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    assert.equal(shorter.RotationPeriodInDays, 90);
    assert.ok(Math.abs(shorter.NextRotationDate!.getTime() - (enabledAt + 90 * DAY_MS)) < 60_000);

    await kms.send(new DisableKeyRotationCommand({ KeyId }));
    const disabled = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    assert.equal(disabled.KeyRotationEnabled, false);
    assert.equal(disabled.RotationPeriodInDays, undefined);
  });

  it('refuses rotation periods outside 90 to 2560 days', async () => {
    const KeyId = await createKey();
    for (const RotationPeriodInDays of [89, 2561]) {
      await assert.rejects(kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays })), { name: 'ValidationException' });
    }
    await kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 2560 }));
    assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).RotationPeriodInDays, 2560);
  });

  it('rotates on demand: earlier ciphertext still decrypts and new ciphertext uses the new material', async () => {
    const KeyId = await createKey();
    const before = await kms.send(new DescribeKeyCommand({ KeyId }));
    const old = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('before rotation'), EncryptionContext: { step: 'old' } }));

    const rotatedAt = Date.now();
    const answer = await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    assert.equal(answer.KeyId, before.KeyMetadata!.Arn);
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    assert.equal(status.OnDemandRotationStartDate, undefined, 'the rotation has completed when the call returns');

    const after = await kms.send(new DescribeKeyCommand({ KeyId }));
    assert.match(after.KeyMetadata!.CurrentKeyMaterialId!, /^[0-9a-f]{64}$/);
    assert.notEqual(after.KeyMetadata!.CurrentKeyMaterialId, before.KeyMetadata!.CurrentKeyMaterialId);

    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob, EncryptionContext: { step: 'old' } }));
    assert.equal(Buffer.from(decrypted.Plaintext!).toString(), 'before rotation');
    assert.equal(decrypted.KeyMaterialId, before.KeyMetadata!.CurrentKeyMaterialId, 'Decrypt names the material that made the ciphertext');
    const reEncrypted = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: old.CiphertextBlob, SourceEncryptionContext: { step: 'old' }, DestinationKeyId: KeyId }),
    );
    assert.equal(reEncrypted.SourceKeyMaterialId, before.KeyMetadata!.CurrentKeyMaterialId);
    assert.equal(reEncrypted.DestinationKeyMaterialId, after.KeyMetadata!.CurrentKeyMaterialId);
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }));
    assert.equal(dataKey.KeyMaterialId, after.KeyMetadata!.CurrentKeyMaterialId);
    const fresh = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('after rotation') }));
    assert.equal(blobMaterialVersion(old.CiphertextBlob!), 1);
    assert.equal(blobMaterialVersion(fresh.CiphertextBlob!), 2);
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }))).Plaintext!).toString(), 'after rotation');

    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId }));
    assert.equal(rotations.Truncated, false);
    assert.equal(rotations.Rotations!.length, 1);
    const [rotation] = rotations.Rotations!;
    assert.equal(rotation!.KeyId, KeyId);
    assert.equal(rotation!.RotationType, 'ON_DEMAND');
    assert.equal(rotation!.KeyMaterialState, 'CURRENT');
    assert.equal(rotation!.KeyMaterialId, after.KeyMetadata!.CurrentKeyMaterialId);
    assert.ok(Math.abs(rotation!.RotationDate!.getTime() - rotatedAt) < 60_000);

    const all = await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    assert.deepEqual(
      all.Rotations!.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.RotationType]),
      [
        [before.KeyMetadata!.CurrentKeyMaterialId, 'NON_CURRENT', undefined],
        [after.KeyMetadata!.CurrentKeyMaterialId, 'CURRENT', 'ON_DEMAND'],
      ],
    );
  });

  it('pages through rotations with Limit and Marker and refuses a marker it never issued', async () => {
    const KeyId = await createKey();
    for (let i = 0; i < 3; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    const first = await kms.send(new ListKeyRotationsCommand({ KeyId, Limit: 2 }));
    assert.equal(first.Rotations!.length, 2);
    assert.equal(first.Truncated, true);
    const second = await kms.send(new ListKeyRotationsCommand({ KeyId, Limit: 2, Marker: first.NextMarker }));
    assert.equal(second.Rotations!.length, 1);
    assert.equal(second.Truncated, false);
    assert.equal(second.NextMarker, undefined);
    const ids = [...first.Rotations!, ...second.Rotations!].map((r) => r.KeyMaterialId);
    assert.equal(new Set(ids).size, 3);
    await assert.rejects(kms.send(new ListKeyRotationsCommand({ KeyId, Marker: 'not-a-marker' })), { name: 'InvalidMarkerException' });
  });

  it('allows 25 on-demand rotations per key and then answers LimitExceededException', async () => {
    const KeyId = await createKey();
    for (let i = 0; i < 25; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    await assert.rejects(kms.send(new RotateKeyOnDemandCommand({ KeyId })), { name: 'LimitExceededException' });
    const all = await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    assert.equal(all.Rotations!.length, 26);
  });

  it('refuses rotation changes on a disabled key with DisabledException and on a key pending deletion', async () => {
    const KeyId = await createKey();
    await kms.send(new EnableKeyRotationCommand({ KeyId }));
    await kms.send(new DisableKeyCommand({ KeyId }));
    for (const change of rotationChanges(KeyId)) await assert.rejects(change(), { name: 'DisabledException' });
    assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, true);

    await kms.send(new EnableKeyCommand({ KeyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    for (const change of rotationChanges(KeyId)) await assert.rejects(change(), { name: 'KMSInvalidStateException' });
    assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, false);
    await kms.send(new CancelKeyDeletionCommand({ KeyId }));
    assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, true);
  });

  it('refuses automatic rotation of a key with imported material but reports its status', async () => {
    const KeyId = await createKey({ Origin: 'EXTERNAL' });
    await assert.rejects(kms.send(new EnableKeyRotationCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    await assert.rejects(kms.send(new DisableKeyRotationCommand({ KeyId })), { name: 'UnsupportedOperationException' });
    assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, false);
  });

  it('refuses every rotation change on asymmetric and HMAC keys with UnsupportedOperationException, and reports their rotation off', async () => {
    for (const spec of [
      { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' },
      { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
      { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
    ] as const) {
      const KeyId = await createKey(spec);
      for (const call of [...rotationChanges(KeyId), () => kms.send(new ListKeyRotationsCommand({ KeyId }))]) {
        await assert.rejects(call(), { name: 'UnsupportedOperationException' }, spec.KeySpec);
      }
      // AWS: "The key rotation status of these KMS keys is always false" (Terraform reads it for every aws_kms_key).
      assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).KeyRotationEnabled, false, spec.KeySpec);
    }
  });

  it('answers NotFoundException for a key that does not exist', async () => {
    const KeyId = '00000000-0000-4000-8000-000000000000';
    await assert.rejects(kms.send(new GetKeyRotationStatusCommand({ KeyId })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new RotateKeyOnDemandCommand({ KeyId })), { name: 'NotFoundException' });
    await assert.rejects(kms.send(new ListKeyRotationsCommand({ KeyId })), { name: 'NotFoundException' });
  });
});
