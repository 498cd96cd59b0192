import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteStore } from '../../store/index.ts';
import type { KeyService, KmsApi, OperationName } from '../index.ts';
import { DAY_MS, TEST_ACCOUNT, testKeyService } from '../test-key-service.ts';

const caller = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/admin` };

describe('the deletion sweeper', () => {
  let store: SqliteStore;
  let service: KeyService;
  let clock = Date.UTC(2030, 0, 1);
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input'] = {}) => service.call(operation, input, caller);
  const createKey = async (): Promise<string> => ((await call('CreateKey')).KeyMetadata as { KeyId: string }).KeyId;
  const aliasNames = async (): Promise<string[]> => ((await call('ListAliases')).Aliases as { AliasName: string }[]).map((alias) => alias.AliasName);

  before(() => {
    ({ store, service } = testKeyService('sweeper', {
      now: () => clock,
      principals: [{ arn: caller.arn, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] }],
    }));
  });
  after(async () => {
    await store.close();
  });

  it('deletes a key and its aliases only once its waiting period has passed', async () => {
    const doomed = await createKey();
    const kept = await createKey();
    await call('CreateAlias', { AliasName: 'alias/doomed', TargetKeyId: doomed });
    await call('CreateAlias', { AliasName: 'alias/doomed-too', TargetKeyId: doomed });
    await call('CreateAlias', { AliasName: 'alias/kept', TargetKeyId: kept });
    await call('ScheduleKeyDeletion', { KeyId: doomed, PendingWindowInDays: 7 });

    clock += 7 * DAY_MS - 60_000;
    assert.equal(await service.sweep(), 0);
    assert.equal(((await call('DescribeKey', { KeyId: doomed })).KeyMetadata as { KeyState: string }).KeyState, 'PendingDeletion');
    assert.deepEqual(await aliasNames(), ['alias/doomed', 'alias/doomed-too', 'alias/kept']);

    clock += 2 * 60_000;
    assert.equal(await service.sweep(), 1);
    await assert.rejects(call('DescribeKey', { KeyId: doomed }), { name: 'NotFoundException' });
    assert.deepEqual(await aliasNames(), ['alias/kept']);
    assert.equal(((await call('DescribeKey', { KeyId: 'alias/kept' })).KeyMetadata as { KeyId: string }).KeyId, kept);
    const listed = ((await call('ListKeys')).Keys as { KeyId: string }[]).map((k) => k.KeyId);
    assert.equal(listed.includes(doomed), false);
    assert.equal(listed.includes(kept), true);
    assert.equal(await service.sweep(), 0);
  });

  it('leaves a key whose deletion was cancelled, even after its old deletion date', async () => {
    const keyId = await createKey();
    await call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    await call('CancelKeyDeletion', { KeyId: keyId });
    clock += 8 * DAY_MS;
    assert.equal(await service.sweep(), 0);
    assert.equal(((await call('DescribeKey', { KeyId: keyId })).KeyMetadata as { KeyState: string }).KeyState, 'Disabled');
  });

  it('deletes keys in order of their deletion dates, each when its own window passes', async () => {
    const soon = await createKey();
    const later = await createKey();
    await call('ScheduleKeyDeletion', { KeyId: later, PendingWindowInDays: 30 });
    await call('ScheduleKeyDeletion', { KeyId: soon, PendingWindowInDays: 7 });
    clock += 10 * DAY_MS;
    assert.equal(await service.sweep(), 1);
    await assert.rejects(call('DescribeKey', { KeyId: soon }), { name: 'NotFoundException' });
    assert.equal(((await call('DescribeKey', { KeyId: later })).KeyMetadata as { KeyState: string }).KeyState, 'PendingDeletion');
    clock += 21 * DAY_MS;
    assert.equal(await service.sweep(), 1);
    await assert.rejects(call('DescribeKey', { KeyId: later }), { name: 'NotFoundException' });
  });
});
