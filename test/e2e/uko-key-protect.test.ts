import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { ACCOUNT, freePorts, startDev, type DevDeployment } from './harness.ts';
import { json, kpClient, type KeyProtectV2 } from './key-protect-client.ts';
import { UkoClient, type UkoBody } from './uko-client.ts';

const [ORCHESTRATOR, TARGET] = ['us-east-1', 'eu-de-1'] as const;

/** A TCP relay in front of the target region, so the test can take the keystore down and bring it back. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}
  async up(): Promise<void> {
    this.server = createServer((socket) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          s.destroy();
        });
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      this.server!.close(() => {
        resolve();
      });
    });
  }
}

describe('UKO v4 through fetch: managed keys orchestrated into another region’s Key Protect, drift made through IBM Key Protect SDK', () => {
  let dev: DevDeployment;
  let uko: UkoClient;
  let kp: KeyProtectV2;
  let relay: Relay;
  let vaultId: string;
  let apikey: string;
  let keystoreId: string;
  const bluemixInstance = instanceIdOf(ACCOUNT, TARGET);

  before(async () => {
    dev = await startDev({ regions: [ORCHESTRATOR, TARGET] });
    apikey = / -d apikey=(\S+)/.exec(dev.banner())![1]!;
    uko = new UkoClient(dev.endpoint(ORCHESTRATOR), apikey);
    kp = kpClient(dev.endpoint(TARGET), apikey);
    relay = new Relay(await freePorts(1), new URL(dev.endpoint(TARGET)));
    await relay.up();
    vaultId = (await uko.call('POST', '/vaults', { body: { name: 'kp vault' } })).json.id;
    const keystore = {
      type: 'ibm_cloud_kms',
      vault: { id: vaultId },
      name: 'key protect eu-de-1',
      groups: ['kp'],
      ibm_variant: 'key_protect',
      ibm_api_endpoint: `http://127.0.0.1:${relay.port}`,
      ibm_iam_endpoint: `http://127.0.0.1:${relay.port}`,
      ibm_api_key: apikey,
      ibm_instance_id: bluemixInstance,
    };
    assert.equal((await uko.call('POST', '/keystores?dry_run=true', { body: keystore })).status, 200);
    const created = await uko.call('POST', '/keystores', { body: keystore });
    assert.equal(created.status, 201);
    assert.equal(created.json.ibm_api_key, undefined);
    assert.equal(created.json.ibm_instance_id, bluemixInstance);
    keystoreId = created.json.id;
    const template = await uko.call('POST', '/templates', {
      body: {
        vault: { id: vaultId },
        name: 'kp-aes',
        key: { algorithm: 'aes', size: '256', state: 'pre_activation' },
        keystores: [{ group: 'kp', type: 'ibm_cloud_kms' }],
      },
    });
    assert.equal(template.status, 201);
  });
  after(async () => {
    await relay.down().catch(() => undefined);
    await dev.stop();
  });

  const activeKey = async (label: string): Promise<UkoBody> => {
    const created = await uko.call('POST', '/managed_keys', { body: { template_name: 'kp-aes', vault: { id: vaultId }, label } });
    const activated = await uko.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag });
    assert.equal(activated.status, 200);
    return activated.json;
  };
  const kpKey = async (id: string) =>
    ((await kp.getKeyMetadata({ id, bluemixInstance })).result as unknown as { resources: { state: number; imported: boolean }[] }).resources[0]!;
  const statuses = async (key: UkoBody) =>
    (await uko.call('GET', `/managed_keys/${key.id}/status_in_keystores`)).json.status_in_keystores.map((s) => [
      s.status,
      s.keystore_sync_flag,
      s.keystore_sync_flag_detail,
    ]);
  const sync = (key: UkoBody) => uko.change('POST', `/managed_keys/${key.id}/sync_status_in_keystores`, `/managed_keys/${key.id}`);

  it('activates a managed key into Key Protect as an imported root key, enabled, its ID the key_id_in_keystore', async () => {
    const key = await activeKey('activated');
    const [status] = key.status_in_keystores;
    assert.deepEqual([status!.keystore.type, status!.status, status!.keystore_sync_flag], ['ibm_cloud_kms', 'active', 'ok']);
    const there = await kpKey(status!.key_id_in_keystore!);
    assert.equal(there.state, 1);
    assert.equal(there.imported, true);
  });

  it('flags a key disabled through Key Protect as out of sync, and sync enables it again', async () => {
    const key = await activeKey('disabled outside');
    const id = key.status_in_keystores[0]!.key_id_in_keystore!;
    await kp.disableKey({ id, bluemixInstance });
    assert.deepEqual(await statuses(key), [['not_active', 'out_of_sync', 'active_key_is_not_active_in_keystore']]);
    assert.deepEqual(
      (await sync(key)).json.status_in_keystores.map((s) => [s.status, s.keystore_sync_flag]),
      [['active', 'ok']],
    );
    assert.equal((await kpKey(id)).state, 1);
  });

  it('flags a key deleted through Key Protect as not present, and sync restores it', async () => {
    const key = await activeKey('deleted outside');
    const id = key.status_in_keystores[0]!.key_id_in_keystore!;
    await kp.deleteKey({ id, bluemixInstance });
    assert.deepEqual(await statuses(key), [['not_present', 'out_of_sync', 'active_key_is_not_active_in_keystore']]);
    assert.equal((await sync(key)).json.status_in_keystores[0]!.keystore_sync_flag, 'ok');
    assert.equal((await kpKey(id)).state, 1);
  });

  it('flags a key rotated through Key Protect with other material as wrong_key, and sync replaces the copy', async () => {
    const key = await activeKey('replaced outside');
    const id = key.status_in_keystores[0]!.key_id_in_keystore!;
    await kp.rotateKey({ id, bluemixInstance, keyActionRotateBody: json({ payload: Buffer.alloc(32, 3).toString('base64') }) });
    assert.deepEqual(await statuses(key), [['wrong_key', 'out_of_sync', 'active_key_is_not_active_in_keystore']]);
    const [synced] = (await sync(key)).json.status_in_keystores;
    assert.deepEqual([synced!.status, synced!.keystore_sync_flag], ['active', 'ok']);
    assert.notEqual(synced!.key_id_in_keystore, id);
    assert.equal((await kpKey(id)).state, 5);
    assert.equal((await kpKey(synced!.key_id_in_keystore!)).state, 1);
  });

  it('shows a Key Protect keystore that is down as error with the reason, and agreement when it is back', async () => {
    const key = await activeKey('keystore down');
    await relay.down();
    const down = (await uko.call('GET', `/managed_keys/${key.id}/status_in_keystores`)).json.status_in_keystores[0]!;
    assert.deepEqual([down.status, down.keystore_sync_flag, down.keystore_sync_flag_detail], ['error', 'error', 'connection_error']);
    assert.match(JSON.stringify(down), /cannot be reached/);
    await relay.up();
    assert.deepEqual(await statuses(key), [['active', 'ok', 'active_key_is_active_in_keystore']]);
  });

  it('never shows the keystore’s API key, stores it only wrapped and keeps it out of the log', async () => {
    const answers = [
      await uko.call('GET', `/keystores/${keystoreId}`),
      await uko.call('GET', '/keystores'),
      await uko.call('GET', `/keystores/${keystoreId}/status`),
      await uko.call('GET', '/managed_keys'),
    ].map((answer) => JSON.stringify(answer.json));
    for (const answer of answers) assert.ok(!answer.includes(apikey), answer);
    const dir = join(dev.dataDir, ORCHESTRATOR);
    for (const file of readdirSync(dir).filter((name) => name.startsWith('keys.db'))) assert.ok(!readFileSync(join(dir, file)).includes(apikey), file);
    assert.ok(!dev.output().includes(apikey));
  });
});
