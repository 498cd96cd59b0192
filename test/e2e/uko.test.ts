import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeKeyCommand, DisableKeyCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { UkoClient } from './uko-client.ts';

const [ORCHESTRATOR, TARGET] = ['us-east-1', 'eu-west-3'] as const;

describe('UKO v4 through fetch: managed keys orchestrated into another Concord region as an AWS KMS keystore', () => {
  let dev: DevDeployment;
  let uko: UkoClient;
  let target: KMSClient;
  let vaultId: string;
  let keystoreId: string;
  before(async () => {
    dev = await startDev({ regions: [ORCHESTRATOR, TARGET] });
    const apikey = / -d apikey=(\S+)/.exec(dev.banner())![1]!;
    uko = new UkoClient(dev.endpoint(ORCHESTRATOR), apikey);
    target = dev.client(TARGET);
    vaultId = (await uko.call('POST', '/vaults', { body: { name: 'e2e vault', description: 'orchestration' } })).json.id;
  });
  after(async () => {
    await dev.stop();
  });

  const keystoreBody = (name: string) => ({
    type: 'aws_kms',
    vault: { id: vaultId },
    name,
    description: 'the other region',
    groups: ['production'],
    aws_region: TARGET,
    aws_access_key_id: ACCESS_KEY_ID,
    aws_secret_access_key: SECRET_ACCESS_KEY,
    aws_endpoint: dev.endpoint(TARGET),
  });
  const targetState = async (KeyId: string) => (await target.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const activeKey = async (label: string) => {
    const created = await uko.call('POST', '/managed_keys', { body: { template_name: 'prod-aes', vault: { id: vaultId }, label } });
    assert.equal(created.status, 201);
    assert.equal(created.json.state, 'pre_activation');
    const activated = await uko.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag });
    assert.equal(activated.status, 200);
    return activated.json;
  };
  const outOfSyncIds = async () =>
    (await uko.call('GET', `/managed_keys?status_in_keystores[].keystore_sync_flag=out_of_sync&limit=1000`)).json.managed_keys.map((key) => key.id);

  it('tests the connection with dry_run, then creates the keystore and a template for its group', async () => {
    const dryRun = await uko.call('POST', '/keystores?dry_run=true', { body: keystoreBody('dry') });
    assert.equal(dryRun.status, 200);
    assert.equal((await uko.call('GET', '/keystores')).json.total_count, 0);
    const created = await uko.call('POST', '/keystores', { body: keystoreBody('eu-west-3 region') });
    assert.equal(created.status, 201);
    assert.equal(created.json.aws_secret_access_key, undefined);
    keystoreId = created.json.id;
    assert.equal((await uko.call('GET', `/keystores/${keystoreId}/status`)).json.health_status, 'ok');
    const template = await uko.call('POST', '/templates', {
      body: {
        vault: { id: vaultId },
        name: 'prod-aes',
        key: { algorithm: 'aes', size: '256', state: 'pre_activation' },
        keystores: [{ group: 'production', type: 'aws_kms' }],
      },
    });
    assert.equal(template.status, 201);
  });

  it('activates a managed key into the other region, where the AWS SDK finds it enabled and linked', async () => {
    const key = await activeKey('linked');
    const [status] = key.status_in_keystores;
    assert.equal(status?.keystore.id, keystoreId);
    assert.equal(status.status, 'active');
    assert.equal(status.keystore_sync_flag, 'ok');
    const metadata = await targetState(status.key_id_in_keystore!);
    assert.equal(metadata.KeyState, 'Enabled');
    assert.equal(metadata.Origin, 'EXTERNAL');
    const { Tags } = await target.send(new ListResourceTagsCommand({ KeyId: status.key_id_in_keystore }));
    assert.ok(Tags?.some((tag) => tag.TagKey === 'uko-managed-key-id' && tag.TagValue === key.id));
  });

  it('flags a key disabled in the other region as out of sync, in the list and on the key, and sync with If-Match restores it', async () => {
    const key = await activeKey('disabled outside');
    const keyIdThere = key.status_in_keystores[0]!.key_id_in_keystore!;
    await target.send(new DisableKeyCommand({ KeyId: keyIdThere }));

    const verified = await uko.call('GET', `/managed_keys/${key.id}/status_in_keystores`);
    assert.equal(verified.status, 200);
    assert.deepEqual(
      verified.json.status_in_keystores.map((s) => [s.status, s.keystore_sync_flag, s.keystore_sync_flag_detail]),
      [['not_active', 'out_of_sync', 'active_key_is_not_active_in_keystore']],
    );
    assert.ok((await outOfSyncIds()).includes(key.id));
    const read = await uko.call('GET', `/managed_keys/${key.id}`);
    assert.equal(read.json.status_in_keystores[0]!.keystore_sync_flag, 'out_of_sync');

    const sync = `/managed_keys/${key.id}/sync_status_in_keystores`;
    assert.equal((await uko.call('POST', sync)).status, 428);
    assert.equal((await uko.call('POST', sync, { ifMatch: '"not-the-etag"' })).status, 412);
    const synced = await uko.call('POST', sync, { ifMatch: read.etag });
    assert.equal(synced.status, 200);
    assert.deepEqual(
      synced.json.status_in_keystores.map((s) => [s.status, s.keystore_sync_flag]),
      [['active', 'ok']],
    );
    assert.equal((await targetState(keyIdThere)).KeyState, 'Enabled');
    assert.ok(!(await outOfSyncIds()).includes(key.id));
  });

  it('flags a key scheduled for deletion in the other region, and sync takes the deletion back', async () => {
    const key = await activeKey('deleted outside');
    const keyIdThere = key.status_in_keystores[0]!.key_id_in_keystore!;
    await target.send(new ScheduleKeyDeletionCommand({ KeyId: keyIdThere, PendingWindowInDays: 7 }));
    const verified = await uko.call('GET', `/managed_keys/${key.id}/status_in_keystores`);
    assert.deepEqual(
      verified.json.status_in_keystores.map((s) => [s.status, s.keystore_sync_flag]),
      [['not_present', 'out_of_sync']],
    );
    const synced = await uko.change('POST', `/managed_keys/${key.id}/sync_status_in_keystores`, `/managed_keys/${key.id}`);
    assert.equal(synced.json.status_in_keystores[0]!.keystore_sync_flag, 'ok');
    assert.equal((await targetState(keyIdThere)).KeyState, 'Enabled');
  });

  it('disables the copy on deactivate, schedules its deletion on destroy, then deletes the managed key', async () => {
    const key = await activeKey('lifecycle');
    const keyIdThere = key.status_in_keystores[0]!.key_id_in_keystore!;
    const path = `/managed_keys/${key.id}`;
    const deactivated = await uko.change('POST', `${path}/deactivate`, path);
    assert.equal(deactivated.json.state, 'deactivated');
    assert.equal((await targetState(keyIdThere)).KeyState, 'Disabled');
    const destroyed = await uko.change('POST', `${path}/destroy`, path);
    assert.equal(destroyed.json.state, 'destroyed');
    assert.equal(destroyed.json.status_in_keystores[0]!.keystore_sync_flag_detail, 'destroyed_key_is_not_present_in_keystore');
    assert.equal((await targetState(keyIdThere)).KeyState, 'PendingDeletion');
    assert.equal((await uko.change('DELETE', path, path)).status, 204);
    assert.equal((await uko.call('GET', path)).status, 404);
  });

  it('rotates a managed key into a new copy and lists its versions', async () => {
    const key = await activeKey('rotated');
    const path = `/managed_keys/${key.id}`;
    const rotated = await uko.change('POST', `${path}/rotate`, path);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.json.status_in_keystores[0]!.key_id_in_keystore, key.status_in_keystores[0]!.key_id_in_keystore);
    assert.equal((await targetState(rotated.json.status_in_keystores[0]!.key_id_in_keystore!)).KeyState, 'Enabled');
    const versions = await uko.call('GET', `${path}/versions`);
    assert.equal(versions.json.total_count, 2);
  });

  it('requires If-Match on keystore and template changes, and refuses deleting a keystore that holds live copies', async () => {
    const keystore = `/keystores/${keystoreId}`;
    assert.equal((await uko.call('PATCH', keystore, { body: { description: 'x' } })).status, 428);
    assert.equal((await uko.call('PATCH', keystore, { body: { description: 'x' }, ifMatch: '"stale"' })).status, 412);
    assert.equal((await uko.change('PATCH', keystore, keystore, { description: 'renamed' })).json.description, 'renamed');
    const inUse = await uko.change('DELETE', keystore, keystore);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.json.errors[0].code, 'keystore_in_use');
  });

  it("answers a forged bearer token with 401 and bad input with 4xx in IBM's error format", async () => {
    const forged = await uko.call('GET', '/managed_keys', { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' });
    assert.equal(forged.status, 401);
    assert.equal(forged.json.status_code, 401);
    const missing = await uko.call('POST', '/managed_keys', { body: { vault: { id: vaultId } } });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json.errors[0].target, { type: 'field', name: 'template_name' });
    const unknown = await uko.call('POST', '/managed_keys', { body: { vault: { id: vaultId }, template_name: 'nope' } });
    assert.equal(unknown.status, 404);
    assert.equal((await uko.call('GET', '/managed_keys?limit=-1')).status, 400);
  });
});
