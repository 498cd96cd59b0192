import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteStore } from '../store/index.ts';
import { changeKey, type KeyEvent, type KeyService, type KmsApi, type OperationName } from './index.ts';
import { keyEventKind } from './key-events.ts';
import type { KeyRecord } from './keys/index.ts';
import { DAY_MS, TEST_ACCOUNT, testKeyService } from './test-key-service.ts';

const caller = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:root` };

describe('key events with two subscribers', () => {
  let store: SqliteStore;
  let service: KeyService;
  let clock = Date.UTC(2030, 0, 1);
  /** What the counting subscriber heard after each commit. */
  const committed: string[] = [];
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input']) => service.call(operation, input, caller);
  const createKey = async (): Promise<string> => (await call('CreateKey', {})).KeyMetadata!.KeyId;
  const auditRows = async (keyId: string) => (await store.list(`audit/${keyId}/`)).map((entry) => entry.value);
  const keyState = async (KeyId: string) => (await call('DescribeKey', { KeyId })).KeyMetadata!.KeyState!;

  before(() => {
    ({ store, service } = testKeyService('key-events', { now: () => clock }));
    // The first writes a row of its own in the change's transaction and refuses to let a key tagged "locked" be scheduled for deletion.
    service.events.subscribe({
      name: 'audit',
      async inTransaction(tx, event) {
        const key = event.after ?? event.before!;
        if (event.kind === 'deletion-scheduled' && key.tags.some((tag) => tag.TagKey === 'locked')) throw new Error('this key is locked');
        const seq = (await tx.list(`audit/${event.keyId}/`)).length;
        tx.put(`audit/${event.keyId}/${seq}`, event.kind);
      },
    });
    service.events.subscribe({
      name: 'counter',
      afterCommit(event) {
        committed.push(`${event.kind} ${event.keyId}`);
      },
    });
  });
  after(async () => {
    await store.close();
  });

  it('tells both of every change, by kind, inside the transaction and after it commits', async () => {
    const keyId = await createKey();
    await call('DisableKey', { KeyId: keyId });
    await call('EnableKey', { KeyId: keyId });
    await call('RotateKeyOnDemand', { KeyId: keyId });
    await call('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    await call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    await call('CancelKeyDeletion', { KeyId: keyId });
    await call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    clock += 7 * DAY_MS + 1;
    assert.equal(await service.sweep(), 1);

    const kinds = ['created', 'disabled', 'enabled', 'rotated', 'tags-changed', 'deletion-scheduled', 'deletion-cancelled', 'deletion-scheduled', 'deleted'];
    assert.deepEqual(await auditRows(keyId), kinds);
    assert.deepEqual(
      committed.splice(0),
      kinds.map((kind) => `${kind} ${keyId}`),
    );
  });

  it('publishes nothing for a change that changes nothing', async () => {
    const keyId = await createKey();
    await call('EnableKey', { KeyId: keyId });
    assert.deepEqual(await auditRows(keyId), ['created']);
    assert.deepEqual(committed.splice(0), [`created ${keyId}`]);
  });

  it('rolls the change back when one refuses it, and neither hears of it after', async () => {
    const keyId = await createKey();
    await call('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'locked', TagValue: 'yes' }] });
    committed.length = 0;
    await assert.rejects(call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }), /this key is locked/);
    assert.equal(await keyState(keyId), 'Enabled');
    assert.deepEqual(await auditRows(keyId), ['created', 'tags-changed']);
    assert.deepEqual(committed, []);
  });

  it('does not tell a subscriber of the changes it made itself, and names a change by what changed when its maker does not', async () => {
    const keyId = await createKey();
    committed.length = 0;
    await service.events.transaction(async (tx, publish) => {
      const key = JSON.parse((await tx.getForUpdate(`key/${keyId}`))!) as KeyRecord;
      await changeKey(tx, key, (key) => void (key.state = 'Disabled'), { publish });
    }, 'audit');
    assert.equal(await keyState(keyId), 'Disabled');
    assert.deepEqual(await auditRows(keyId), ['created']);
    assert.deepEqual(committed, [`disabled ${keyId}`]);
  });
});

describe('the kind of a change nobody named', () => {
  const key = { keyId: 'k', state: 'Enabled', currentMaterial: 1, materials: [{ version: 1 }], policy: 'p', tags: [], description: '' } as unknown as KeyRecord;
  const changed = (change: Partial<KeyRecord>): KeyRecord => ({ ...key, ...change });

  it('tells creation, deletion, state changes and rotation apart', () => {
    const cases: [KeyRecord | undefined, KeyRecord | undefined, KeyEvent['kind']][] = [
      [undefined, key, 'created'],
      [key, undefined, 'deleted'],
      [key, changed({ state: 'PendingReplicaDeletion' }), 'deletion-scheduled'],
      [changed({ state: 'PendingDeletion' }), changed({ state: 'Disabled' }), 'deletion-cancelled'],
      [key, changed({ state: 'Disabled' }), 'disabled'],
      [changed({ state: 'Creating' }), key, 'enabled'],
      [key, changed({ currentMaterial: 2, materials: [...key.materials, { version: 2 } as KeyRecord['materials'][0]] }), 'rotated'],
      [key, changed({ policy: 'q' }), 'policy-changed'],
      [key, changed({ multiRegionConfig: { version: 1, primaryRegion: 'us-east-1', replicaRegions: ['us-west-2'] } }), 'multi-region-changed'],
    ];
    for (const [before, after, kind] of cases) assert.equal(keyEventKind(before, after), kind, `${before?.state} -> ${after?.state}: ${kind}`);
  });
});
