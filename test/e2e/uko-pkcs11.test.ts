import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDev, type DevDeployment } from './harness.ts';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from './softhsm-token.ts';
import { UkoClient, type UkoBody } from './uko-client.ts';

const REGION = 'eu-central-1';
const TOKEN = 'uko-e2e';
const p11 = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');

/** A session of the token's owner, outside Concord (as pkcs11-tool would open one), for `work`. */
function asTokenOwner<T>(work: (lib: InstanceType<typeof p11.PKCS11>, session: Buffer) => T, pin = SOFTHSM_PIN): T {
  const lib = new p11.PKCS11();
  lib.load(SOFTHSM_MODULE);
  lib.C_Initialize();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === TOKEN)!;
    const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
    lib.C_Login(session, p11.CKU_USER, pin);
    return work(lib, session);
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

function objectsLabelled(lib: InstanceType<typeof p11.PKCS11>, session: Buffer, label: string): Buffer[] {
  lib.C_FindObjectsInit(session, [{ type: p11.CKA_LABEL, value: label }]);
  const objects = lib.C_FindObjects(session, 10);
  lib.C_FindObjectsFinal(session);
  return objects;
}

describe('UKO v4 through fetch: managed keys orchestrated into a PKCS#11 token (SoftHSM2), and drift made in the token', () => {
  const dir = softHsmToken(TOKEN);
  let dev: DevDeployment;
  let uko: UkoClient;
  let vaultId: string;
  let keystoreId: string;

  const keystoreBody = (name: string, fields: Record<string, string> = {}) => ({
    type: 'pkcs11',
    vault: { id: vaultId },
    name,
    groups: ['hsm'],
    pkcs11_module: SOFTHSM_MODULE,
    pkcs11_token_label: TOKEN,
    pkcs11_pin: SOFTHSM_PIN,
    ...fields,
  });
  const activeKey = async (label: string) => {
    const created = await uko.call('POST', '/managed_keys', { body: { template_name: 'hsm-aes', vault: { id: vaultId }, label } });
    const activated = await uko.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag });
    assert.equal(activated.status, 200);
    return activated.json;
  };
  const statuses = (key: UkoBody) => key.status_in_keystores.map((s) => [s.status, s.keystore_sync_flag, s.keystore_sync_flag_detail]);
  const verify = async (id: string) => (await uko.call('GET', `/managed_keys/${id}/status_in_keystores`)).json;
  const sync = async (id: string) => (await uko.change('POST', `/managed_keys/${id}/sync_status_in_keystores`, `/managed_keys/${id}`)).json;

  before(async () => {
    const allowed = [SOFTHSM_MODULE, join(dir, 'lib', 'libsofthsm2.so'), join(dir, 'libmissing.so')];
    dev = await startDev({ regions: [REGION], extraArgs: ['--pkcs11-module', ...allowed] });
    uko = new UkoClient(dev.endpoint(REGION), / -d apikey=(\S+)/.exec(dev.banner())![1]!);
    vaultId = (await uko.call('POST', '/vaults', { body: { name: 'hsm vault' } })).json.id;
  });
  after(async () => {
    await dev.stop();
  });

  it('tests the connection with dry_run (library, token, PIN), creates the keystore without ever showing its PIN, and a template for its group', async () => {
    for (const [fields, reason] of [
      [{ pkcs11_pin: '0000' }, /refuses the PIN/],
      [{ pkcs11_token_label: 'absent-token' }, /no token labelled 'absent-token'/],
      [{ pkcs11_module: join(dir, 'libmissing.so') }, /libmissing\.so cannot be loaded/],
    ] as const) {
      const refused = await uko.call('POST', '/keystores?dry_run=true', { body: keystoreBody('dry', fields) });
      assert.equal(refused.status, 400);
      assert.equal(refused.json.errors[0].code, 'keystore_connection_failed');
      assert.match(refused.json.errors[0].message, reason);
    }
    assert.equal((await uko.call('POST', '/keystores?dry_run=true', { body: keystoreBody('dry') })).status, 200);
    const notAllowed = await uko.call('POST', '/keystores', { body: keystoreBody('not allowed', { pkcs11_module: join(dir, 'libother.so') }) });
    assert.deepEqual(
      [notAllowed.status, notAllowed.json.errors[0].code, notAllowed.json.errors[0].target],
      [400, 'pkcs11_module_not_allowed', { type: 'field', name: 'pkcs11_module' }],
    );

    const created = await uko.call('POST', '/keystores', { body: keystoreBody('softhsm') });
    assert.equal(created.status, 201);
    keystoreId = created.json.id;
    const read = await uko.call('GET', `/keystores/${keystoreId}`);
    assert.deepEqual(
      [read.json.type, read.json.pkcs11_module, read.json.pkcs11_token_label, read.json.pkcs11_pin],
      ['pkcs11', SOFTHSM_MODULE, TOKEN, undefined],
    );
    assert.equal((await uko.call('GET', `/keystores/${keystoreId}/status`)).json.health_status, 'ok');
    const template = await uko.call('POST', '/templates', {
      body: { vault: { id: vaultId }, name: 'hsm-aes', key: { algorithm: 'aes', size: '128' }, keystores: [{ group: 'hsm', type: 'pkcs11' }] },
    });
    assert.equal(template.status, 201);
  });

  it('activates a managed key into the token as an object labelled with its key_id_in_keystore, disables it on deactivate and deletes it on destroy', async () => {
    const key = await activeKey('lifecycle');
    assert.deepEqual(statuses(key), [['active', 'ok', 'active_key_is_active_in_keystore']]);
    const label = key.status_in_keystores[0]!.key_id_in_keystore!;
    assert.equal(label, `uko/${key.id}/v1`);
    const encrypts = () =>
      asTokenOwner((lib, session) => lib.C_GetAttributeValue(session, objectsLabelled(lib, session, label)[0]!, [{ type: p11.CKA_ENCRYPT }])[0]!.value[0]);
    assert.equal(encrypts(), 1);
    const path = `/managed_keys/${key.id}`;
    assert.deepEqual(statuses((await uko.change('POST', `${path}/deactivate`, path)).json), [
      ['not_active', 'ok', 'deactivated_key_is_deactivated_in_keystore'],
    ]);
    assert.equal(encrypts(), 0);
    assert.deepEqual(statuses((await uko.change('POST', `${path}/destroy`, path)).json), [['not_present', 'ok', 'destroyed_key_is_not_present_in_keystore']]);
    assert.equal(
      asTokenOwner((lib, session) => objectsLabelled(lib, session, label).length),
      0,
    );
  });

  it('flags a key deleted from the token directly as out of sync, and sync puts it back', async () => {
    const key = await activeKey('deleted in the token');
    const label = key.status_in_keystores[0]!.key_id_in_keystore!;
    asTokenOwner((lib, session) => {
      for (const object of objectsLabelled(lib, session, label)) lib.C_DestroyObject(session, object);
    });
    assert.deepEqual(statuses(await verify(key.id)), [['not_present', 'out_of_sync', 'active_key_is_not_active_in_keystore']]);
    const flagged = await uko.call('GET', '/managed_keys?status_in_keystores[].keystore_sync_flag=out_of_sync&limit=1000');
    assert.ok(flagged.json.managed_keys.some((k) => k.id === key.id));
    assert.deepEqual(statuses(await sync(key.id)), [['active', 'ok', 'active_key_is_active_in_keystore']]);
    assert.equal(
      asTokenOwner((lib, session) => objectsLabelled(lib, session, label).length),
      1,
    );
  });

  it('tells a key whose material was replaced in the token by wrong_key, and sync replaces it with the managed key', async () => {
    const key = await activeKey('replaced in the token');
    const label = key.status_in_keystores[0]!.key_id_in_keystore!;
    asTokenOwner((lib, session) => {
      for (const object of objectsLabelled(lib, session, label)) lib.C_DestroyObject(session, object);
      lib.C_CreateObject(session, [
        { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
        { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
        { type: p11.CKA_TOKEN, value: true },
        { type: p11.CKA_PRIVATE, value: true },
        { type: p11.CKA_ENCRYPT, value: true },
        { type: p11.CKA_DECRYPT, value: true },
        { type: p11.CKA_LABEL, value: label },
        { type: p11.CKA_VALUE, value: randomBytes(16) },
      ]);
    });
    assert.deepEqual(statuses(await verify(key.id)), [['wrong_key', 'out_of_sync', 'active_key_is_not_active_in_keystore']]);
    assert.deepEqual(statuses(await sync(key.id)), [['active', 'ok', 'active_key_is_active_in_keystore']]);
    assert.deepEqual(statuses(await verify(key.id)), [['active', 'ok', 'active_key_is_active_in_keystore']]);
  });

  it('shows error while the token refuses the PIN, and recovers when it takes it again', async () => {
    const key = await activeKey('pin changed');
    const setPin = (from: string, to: string) => {
      asTokenOwner((lib, session) => {
        lib.C_SetPIN(session, from, to);
      }, from);
    };
    setPin(SOFTHSM_PIN, '98765');
    try {
      const [status] = (await verify(key.id)).status_in_keystores;
      assert.deepEqual([status?.status, status?.keystore_sync_flag, status?.keystore_sync_flag_detail], ['error', 'error', 'connection_error']);
      assert.match(JSON.stringify(status), /refuses the PIN/);
      assert.equal((await uko.call('GET', `/keystores/${keystoreId}/status`)).json.health_status, 'not_responding');
    } finally {
      setPin('98765', SOFTHSM_PIN);
    }
    assert.deepEqual(statuses(await verify(key.id)), [['active', 'ok', 'active_key_is_active_in_keystore']]);
  });

  it('shows error while the PKCS#11 library is moved away, and recovers when it is back', async () => {
    const libraries = join(dir, 'lib');
    mkdirSync(libraries);
    copyFileSync(SOFTHSM_MODULE, join(libraries, 'libsofthsm2.so'));
    const created = await uko.call('POST', '/keystores', {
      body: keystoreBody('moved library', { pkcs11_module: join(libraries, 'libsofthsm2.so') }),
    });
    assert.equal(created.status, 201);
    const key = await activeKey('library moved');
    const mine = (body: UkoBody) => body.status_in_keystores.find((s) => s.keystore.id === created.json.id)!;
    assert.equal(mine(key).status, 'active');
    renameSync(libraries, `${libraries}.moved`);
    try {
      const status = mine(await verify(key.id));
      assert.deepEqual([status.status, status.keystore_sync_flag_detail], ['error', 'connection_error']);
      assert.match(JSON.stringify(status), /cannot be loaded/);
    } finally {
      renameSync(`${libraries}.moved`, libraries);
    }
    assert.deepEqual(statuses(await verify(key.id)), [
      ['active', 'ok', 'active_key_is_active_in_keystore'],
      ['active', 'ok', 'active_key_is_active_in_keystore'],
    ]);
  });
});
