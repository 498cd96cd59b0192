import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeKeyCommand, DisableKeyCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import type { Caller } from '../kms/index.ts';
import { Outbox } from '../outbox/index.ts';
import { SqliteStore } from '../store/index.ts';
import { eventually } from '../../test/e2e/eventually.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../../test/e2e/harness.ts';
import { etagOf } from './etag.ts';
import { Uko } from './uko.ts';

const TARGET = 'ap-southeast-2';
const CALLER: Caller = { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/admin' };

describe('managed keys orchestrated into an AWS KMS keystore (another Concord region)', () => {
  let dev: DevDeployment;
  let kms: KMSClient;
  let store: SqliteStore;
  let uko: Uko;
  let outbox: Outbox;
  let vaultId: string;
  let keystoreId: string;
  before(async () => {
    dev = await startDev({ regions: [TARGET] });
    kms = dev.client(TARGET);
    const dir = mkdtempSync(join(tmpdir(), 'concord-uko-'));
    store = new SqliteStore(join(dir, 'keys.db'));
    outbox = new Outbox(store, pino({ level: 'silent' }));
    uko = new Uko({ store, unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')), outbox, verifyIntervalMs: 0 });
    vaultId = (await uko.createVault({ name: 'orchestration' }, CALLER)).id;
    keystoreId = (
      await uko.createKeystore(
        {
          type: 'aws_kms',
          vault: { id: vaultId },
          name: 'other-region',
          groups: ['prod'],
          aws_region: TARGET,
          aws_access_key_id: ACCESS_KEY_ID,
          aws_secret_access_key: SECRET_ACCESS_KEY,
          aws_endpoint: dev.endpoint(TARGET),
        },
        false,
        CALLER,
      )
    ).id;
    await uko.createTemplate(
      { vault: { id: vaultId }, name: 'prod-aes', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'prod', type: 'aws_kms' }] },
      CALLER,
    );
  });
  after(async () => {
    await dev.stop();
    await outbox.close();
    await store.close();
  });

  const activeKey = async () => {
    const created = await uko.createManagedKey({ template_name: 'prod-aes', vault: { id: vaultId }, label: 'orchestrated' }, CALLER);
    return uko.activate(created.id, etagOf(created), CALLER);
  };
  const keyState = async (KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

  it('activates a managed key by creating it, enabled, in the keystore of its template group', async () => {
    const key = await activeKey();
    assert.equal(key.state, 'active');
    const [instance] = key.instances;
    assert.equal(instance?.keystoreId, keystoreId);
    assert.equal(instance.status, 'active');
    assert.equal(instance.syncFlag, 'ok');
    assert.equal(instance.syncFlagDetail, 'active_key_is_active_in_keystore');
    assert.equal(await keyState(instance.keyIdInKeystore!), 'Enabled');
  });

  it('flags a key disabled in the keystore outside the orchestrator as out of sync, and sync enables it again', async () => {
    const key = await activeKey();
    const keyId = key.instances[0]!.keyIdInKeystore!;
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const verified = await uko.verify(key.id);
    assert.deepEqual(
      { status: verified.instances[0]!.status, flag: verified.instances[0]!.syncFlag, detail: verified.instances[0]!.syncFlagDetail },
      { status: 'not_active', flag: 'out_of_sync', detail: 'active_key_is_not_active_in_keystore' },
    );
    const synced = await uko.sync(key.id, etagOf(verified));
    assert.equal(synced.instances[0]!.syncFlag, 'ok');
    assert.equal(await keyState(keyId), 'Enabled');
  });

  it('takes back a deletion scheduled in the keystore outside the orchestrator', async () => {
    const key = await activeKey();
    const keyId = key.instances[0]!.keyIdInKeystore!;
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const verified = await uko.verify(key.id);
    assert.equal(verified.instances[0]!.status, 'not_present');
    assert.equal(verified.instances[0]!.syncFlag, 'out_of_sync');
    const synced = await uko.sync(key.id, etagOf(verified));
    assert.equal(synced.instances[0]!.syncFlagDetail, 'active_key_is_active_in_keystore');
    assert.equal(await keyState(keyId), 'Enabled');
  });

  it('disables the copy on deactivate and schedules its deletion on destroy', async () => {
    const key = await activeKey();
    const keyId = key.instances[0]!.keyIdInKeystore!;
    const deactivated = await uko.deactivate(key.id, etagOf(key), CALLER);
    assert.equal(deactivated.instances[0]!.syncFlagDetail, 'deactivated_key_is_deactivated_in_keystore');
    assert.equal(await keyState(keyId), 'Disabled');
    const destroyed = await uko.destroy(key.id, etagOf(deactivated), CALLER);
    assert.equal(destroyed.instances[0]!.syncFlagDetail, 'destroyed_key_is_not_present_in_keystore');
    assert.equal(await keyState(keyId), 'PendingDeletion');
  });

  it('creates a new key in the keystore on rotation, with the new material', async () => {
    const key = await activeKey();
    const rotated = await uko.rotate(key.id, etagOf(key), CALLER);
    assert.equal(rotated.materials.length, 2);
    assert.notEqual(rotated.materials[1]!.pattern, rotated.materials[0]!.pattern);
    assert.notEqual(rotated.instances[0]!.keyIdInKeystore, key.instances[0]!.keyIdInKeystore);
    assert.equal(await keyState(rotated.instances[0]!.keyIdInKeystore!), 'Enabled');
  });

  it('shows a keystore that does not answer as error, and in sync once it answers again', async () => {
    const key = await activeKey();
    await dev.stop();
    const down = await uko.verify(key.id);
    assert.deepEqual(
      { status: down.instances[0]!.status, flag: down.instances[0]!.syncFlag, detail: down.instances[0]!.syncFlagDetail },
      { status: 'error', flag: 'error', detail: 'connection_error' },
    );
    assert.match(down.instances[0]!.error!, /cannot be reached/);
    await dev.restart();
    const up = await uko.verify(key.id);
    assert.equal(up.instances[0]!.syncFlag, 'ok');
    assert.equal(up.instances[0]!.error, undefined);
  });

  it('completes through the outbox a destroy made while the keystore was down, once it answers again', async () => {
    const key = await activeKey();
    const keyId = key.instances[0]!.keyIdInKeystore!;
    const deactivated = await uko.deactivate(key.id, etagOf(key), CALLER);
    await dev.stop();
    const destroyed = await uko.destroy(key.id, etagOf(deactivated), CALLER);
    assert.equal(destroyed.state, 'destroyed');
    assert.equal(destroyed.instances[0]!.syncFlag, 'error');
    await dev.restart();
    await eventually(async () => {
      assert.equal(await keyState(keyId), 'PendingDeletion');
    });
    await eventually(async () => {
      assert.equal((await uko.keys.get(key.id)).instances[0]!.syncFlagDetail, 'destroyed_key_is_not_present_in_keystore');
    });
  });

  it('verifies in the background every key whose keystore status is older than the interval', async () => {
    const key = await activeKey();
    await kms.send(new DisableKeyCommand({ KeyId: key.instances[0]!.keyIdInKeystore! }));
    assert.ok((await uko.verifyDue()) >= 1);
    assert.equal((await uko.keys.get(key.id)).instances[0]!.syncFlag, 'out_of_sync');
  });
});
