import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteStore } from '../../store/index.ts';
import { KeyService, type KmsApi, type OperationName } from '../index.ts';
import { DAY_MS, TEST_ACCOUNT, testKeyService } from '../test-key-service.ts';

const caller = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:root` };

describe('automatic key rotation', () => {
  let store: SqliteStore;
  let service: KeyService;
  let clock = Date.UTC(2030, 0, 1);
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input'] = {}) => service.call(operation, input, caller);
  const createKey = async (): Promise<string> => ((await call('CreateKey')).KeyMetadata as { KeyId: string }).KeyId;
  const rotations = async (KeyId: string) =>
    (await call('ListKeyRotations', { KeyId })).Rotations as { RotationType: string; RotationDate: number; KeyMaterialState: string; KeyMaterialId: string }[];
  const status = async (KeyId: string) =>
    (await call('GetKeyRotationStatus', { KeyId })) as { KeyRotationEnabled: boolean; NextRotationDate?: number; RotationPeriodInDays?: number };
  const materialVersion = (blob: Buffer): number => blob.readUInt32BE(2 + blob[1]!);

  before(() => {
    ({ store, service } = testKeyService('rotation', { now: () => clock }));
  });
  after(async () => {
    await store.close();
  });

  it('rotates a key once its period has passed, then schedules the next rotation a period later', async () => {
    const KeyId = await createKey();
    const { CiphertextBlob: old } = await call('Encrypt', { KeyId, Plaintext: Buffer.from('year one') });
    const enabledAt = clock;
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    assert.equal((await status(KeyId)).NextRotationDate, (enabledAt + 90 * DAY_MS) / 1000);

    clock = enabledAt + 90 * DAY_MS - 1;
    assert.equal(await service.rotateDueKeys(), 0);
    assert.deepEqual(await rotations(KeyId), []);

    clock = enabledAt + 90 * DAY_MS;
    assert.equal(await service.rotateDueKeys(), 1);
    const listed = await rotations(KeyId);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.RotationType, 'AUTOMATIC');
    assert.equal(listed[0]!.RotationDate, clock / 1000);
    assert.equal(listed[0]!.KeyMaterialState, 'CURRENT');
    const metadata = (await call('DescribeKey', { KeyId })).KeyMetadata as { CurrentKeyMaterialId: string };
    assert.equal(listed[0]!.KeyMaterialId, metadata.CurrentKeyMaterialId);
    assert.equal((await status(KeyId)).NextRotationDate, (clock + 90 * DAY_MS) / 1000);
    assert.equal(await service.rotateDueKeys(), 0, 'a rotated key is not due again at once');

    const { CiphertextBlob: fresh } = await call('Encrypt', { KeyId, Plaintext: Buffer.from('year two') });
    assert.equal(materialVersion(old as Buffer), 1);
    assert.equal(materialVersion(fresh as Buffer), 2);
    assert.equal(((await call('Decrypt', { CiphertextBlob: old })).Plaintext as Buffer).toString(), 'year one');
  });

  it('keeps the rotation index to keys with rotation enabled', async () => {
    const KeyId = await createKey();
    const entries = async () => (await store.list('rotation/')).filter((entry) => entry.value === KeyId);
    assert.equal((await entries()).length, 0);
    await call('EnableKeyRotation', { KeyId });
    assert.equal((await entries()).length, 1);
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 180 });
    assert.equal((await entries()).length, 1, 'a new period moves the entry rather than adding one');
    await call('DisableKeyRotation', { KeyId });
    assert.equal((await entries()).length, 0);
  });

  it('does not rotate a disabled key, and rotates it as soon as it is enabled again when overdue', async () => {
    const KeyId = await createKey();
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    await call('DisableKey', { KeyId });
    clock += 100 * DAY_MS;
    await service.rotateDueKeys();
    assert.deepEqual(await rotations(KeyId), []);
    assert.equal((await status(KeyId)).KeyRotationEnabled, true);

    await call('EnableKey', { KeyId });
    await service.rotateDueKeys();
    const [rotation] = await rotations(KeyId);
    assert.equal(rotation?.RotationType, 'AUTOMATIC');
    assert.equal(rotation.RotationDate, clock / 1000);
  });

  it('measures a changed period from the last automatic rotation', async () => {
    const KeyId = await createKey();
    const enabledAt = clock;
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 365 });
    clock += 100 * DAY_MS;
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    assert.equal((await status(KeyId)).NextRotationDate, (enabledAt + 90 * DAY_MS) / 1000);
    await service.rotateDueKeys();
    assert.equal((await rotations(KeyId)).length, 1, 'the shortened period had already passed');
    assert.equal((await status(KeyId)).NextRotationDate, (clock + 90 * DAY_MS) / 1000);
  });

  it('keeps rotating the other due keys when one key refuses its change', async () => {
    const stuck = await createKey();
    const other = await createKey();
    for (const KeyId of [stuck, other]) await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    const refusing = new KeyService({ ...service.ctx });
    refusing.events.subscribe({
      name: 'refusal',
      inTransaction(_tx, { keyId }) {
        if (keyId === stuck) return Promise.reject(new Error('this key may not change now'));
        return Promise.resolve();
      },
    });
    clock += 90 * DAY_MS;
    await assert.rejects(refusing.rotateDueKeys(), /may not change now/);
    assert.equal((await rotations(other)).length, 1);
    assert.equal((await rotations(stuck)).length, 0);
    assert.equal(await service.rotateDueKeys(), 1, 'the refused key is still due');
  });

  it('refuses an on-demand rotation within 20 minutes of an automatic one', async () => {
    const KeyId = await createKey();
    const enabledAt = clock;
    await call('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    clock = enabledAt + 90 * DAY_MS - 19 * 60 * 1000;
    await assert.rejects(call('RotateKeyOnDemand', { KeyId }), { name: 'ConflictException' });
    clock = enabledAt + 90 * DAY_MS - 21 * 60 * 1000;
    await call('RotateKeyOnDemand', { KeyId });
    assert.equal((await rotations(KeyId))[0]?.RotationType, 'ON_DEMAND');
    assert.equal((await status(KeyId)).NextRotationDate, (enabledAt + 90 * DAY_MS) / 1000, 'on-demand rotation keeps the schedule');
  });
});
