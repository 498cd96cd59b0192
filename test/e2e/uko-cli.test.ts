import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DescribeKeyCommand, DisableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { ACCESS_KEY_ID, ACCOUNT, BIN, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { SOFTHSM_MODULE, SOFTHSM_PIN, softHsmToken } from './softhsm-token.ts';
import { UkoClient } from './uko-client.ts';

const [ORCHESTRATOR, TARGET] = ['us-east-1', 'eu-west-3'] as const;
const KEYSTORE = 'eu-west-3 region';
const TOKEN = 'uko-cli';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface StatusRow {
  keystore: { name: string };
  status: string;
  keystore_sync_flag: string;
  keystore_sync_flag_detail: string;
  key_id_in_keystore?: string;
}

describe('concord uko: managed keys orchestrated into another region, verified and synced from the command line', () => {
  softHsmToken(TOKEN);
  let dev: DevDeployment;
  let apikey: string;
  let target: KMSClient;
  let vaultId: string;
  let keyId: string;
  let api: UkoClient;

  /**
   * Runs `concord uko <args>` against the orchestrating region with the API key in CONCORD_API_KEY
   * and `env` besides, `stdin` written to its stdin (stdin and stderr are pipes, not TTYs).
   */
  const uko = (args: string[], { key = apikey, env = {}, stdin = '' }: { key?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, 'uko', ...args, '--endpoint', dev.endpoint(ORCHESTRATOR)],
        { env: { PATH: process.env.PATH, CONCORD_API_KEY: key, ...env } },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        },
      );
      child.stdin!.end(stdin);
    });
  const okWith = async (options: Parameters<typeof uko>[1], ...args: string[]): Promise<string> => {
    const run = await uko(args, options);
    assert.equal(run.code, 0, run.stderr);
    return run.stdout;
  };
  const ok = (...args: string[]): Promise<string> => okWith({}, ...args);
  const json = async <T = { id: string; state: string; status_in_keystores: StatusRow[] }>(...args: string[]): Promise<T> =>
    JSON.parse(await ok(...args, '--json')) as T;
  const disableThere = (KeyId: string) => target.send(new DisableKeyCommand({ KeyId }));
  const stateThere = async (KeyId: string) => (await target.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

  before(async () => {
    dev = await startDev({ regions: [ORCHESTRATOR, TARGET], extraArgs: ['--pkcs11-module', SOFTHSM_MODULE] });
    apikey = /apikey=(\S+)/.exec(dev.banner())![1]!;
    target = dev.client(TARGET);
    api = new UkoClient(dev.endpoint(ORCHESTRATOR), apikey);
  });
  after(async () => {
    await dev.stop();
  });

  it('creates a vault, an aws_kms keystore on the other region and a template, and shows them in tables', async () => {
    vaultId = (await json('vault', 'create', '--name', 'cli vault')).id;
    const keystore = await json<{ id: string; aws_secret_access_key?: string }>(
      ...[
        'keystore',
        'create',
        '--vault',
        vaultId,
        '--name',
        KEYSTORE,
        '--group',
        'production',
        '--aws-region',
        TARGET,
        '--aws-endpoint',
        dev.endpoint(TARGET),
      ],
      ...['--aws-access-key-id', ACCESS_KEY_ID, '--aws-secret-access-key', SECRET_ACCESS_KEY],
    );
    assert.equal(keystore.aws_secret_access_key, undefined);
    const [status, template] = await Promise.all([
      ok('keystore', 'status', keystore.id),
      ok('template', 'create', '--vault', vaultId, '--name', 'prod-aes', '--group', 'production'),
    ]);
    assert.match(status, /^HEALTH\s+LAST HEARTBEAT\s+MESSAGE\nok\s/);
    assert.match(template, /^ID\s+NAME\s+STATE\s+ALGORITHM\s+SIZE\s+KEYSTORES\s+KEYS\n\S+\s+prod-aes\s+unarchived\s+aes\s+256\s+production\/aws_kms\s+0\n$/);
  });

  it('shows a key disabled in the other region as out_of_sync in a table and in JSON, and sync restores it', async () => {
    const created = await json('key', 'create', '--vault', vaultId, '--template', 'prod-aes', '--label', 'disabled outside');
    assert.equal(created.state, 'pre_activation');
    const activated = await json('key', 'activate', created.id);
    assert.equal(activated.state, 'active');
    keyId = activated.id;
    const keyIdThere = activated.status_in_keystores[0]!.key_id_in_keystore!;
    await disableThere(keyIdThere);

    const [table, verified] = await Promise.all([ok('verify', keyId), json<{ status_in_keystores: StatusRow[] }>('verify', keyId)]);
    assert.match(table, /^MANAGED KEY\s+LABEL\s+KEYSTORE\s+STATUS\s+SYNC\s+DETAIL\n/);
    assert.match(table, new RegExp(`${keyId}\\s+disabled outside\\s+${KEYSTORE}\\s+not_active\\s+out_of_sync\\s+active_key_is_not_active_in_keystore`));
    assert.deepEqual(
      verified.status_in_keystores.map((s) => [s.keystore.name, s.status, s.keystore_sync_flag, s.keystore_sync_flag_detail]),
      [[KEYSTORE, 'not_active', 'out_of_sync', 'active_key_is_not_active_in_keystore']],
    );

    const synced = await uko(['sync', keyId]);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, new RegExp(`${keyId}\\s+disabled outside\\s+${KEYSTORE}\\s+active\\s+ok`));
    assert.equal(await stateThere(keyIdThere), 'Enabled');
  });

  it('verifies and syncs every managed key of the vault with --all, without a progress bar when stderr is not a terminal', async () => {
    const created = await api.call('POST', '/managed_keys', { body: { template_name: 'prod-aes', vault: { id: vaultId }, label: 'second' } });
    const drifted = (await api.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag })).json;
    await disableThere(drifted.status_in_keystores[0]!.key_id_in_keystore!);

    const verified = await json<{ managed_key: { id: string }; status_in_keystores: StatusRow[] }[]>('verify', '--all', '--vault', vaultId);
    assert.deepEqual(
      new Map(verified.map((k) => [k.managed_key.id, k.status_in_keystores[0]!.keystore_sync_flag])),
      new Map([
        [keyId, 'ok'],
        [drifted.id, 'out_of_sync'],
      ]),
    );

    const synced = await uko(['sync', '--all', '--vault', vaultId]);
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(synced.stderr, '');
    assert.equal(synced.stdout.split('\n').filter((line) => /\sactive\s+ok(\s|$)/.test(line)).length, 2);
    assert.equal(await stateThere(drifted.status_in_keystores[0]!.key_id_in_keystore!), 'Enabled');
  });

  it('refuses a stale or invalid request in one line with IBM code and message and a non-zero exit, never showing the API key', async () => {
    const badKey = 'not-a-real-api-key-0123456789';
    const [again, refused] = await Promise.all([uko(['key', 'activate', keyId]), uko(['key', 'list'], { key: badKey })]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^concord uko: 409 invalid_state: .+\n$/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^concord uko: 4\d\d \S+: .+\n$/);
    assert.ok(!refused.stderr.includes(badKey));
  });

  it('archives a template, after which it makes no new keys', async () => {
    const { templates } = (await api.call<{ templates: { id: string }[] }>('GET', `/templates?vault.id=${vaultId}`)).json;
    assert.equal((await json<{ state: string }>('template', 'archive', templates[0]!.id)).state, 'archived');
    const refused = await api.call('POST', '/managed_keys', { body: { template_name: 'prod-aes', vault: { id: vaultId }, label: 'late' } });
    assert.equal(refused.json.errors[0].code, 'key_template_archived');
  });

  describe('keystores of every type from the command line, in a vault of their own', () => {
    let typesVault: string;
    const create = (options: Parameters<typeof uko>[1], ...args: string[]) =>
      okWith(options, 'keystore', 'create', '--vault', typesVault, ...args, '--json').then(
        (out) => JSON.parse(out) as { id: string } & Record<string, string | undefined>,
      );
    /** A template for the keystore's group, a managed key made from it and activated, and the key verified there. */
    const verifiedThrough = async (group: string, type: string) => {
      await ok('template', 'create', '--vault', typesVault, '--name', `${group}-aes`, '--group', group, '--keystore-type', type);
      const created = await json('key', 'create', '--vault', typesVault, '--template', `${group}-aes`, '--label', `in ${group}`);
      await ok('key', 'activate', created.id);
      const verified = await json<{ status_in_keystores: StatusRow[] }>('verify', created.id);
      return verified.status_in_keystores.map((s) => [s.keystore.name, s.status, s.keystore_sync_flag]);
    };

    before(async () => {
      typesVault = (await json('vault', 'create', '--name', 'cli keystore types')).id;
    });

    it('creates a pkcs11 keystore on a SoftHSM2 token with its PIN from stdin, lists it, and verifies a key in it', async () => {
      const fields = ['--type', 'pkcs11', '--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token-label', TOKEN, '--secret-stdin'];
      const pin = { stdin: `${SOFTHSM_PIN}\n` };
      const dryRun = await okWith(pin, 'keystore', 'create', '--vault', typesVault, '--name', 'dry', '--group', 'hsm', ...fields, '--dry-run');
      assert.match(dryRun, /nothing was created/);
      const keystore = await create(pin, '--name', 'softhsm', '--group', 'hsm', ...fields);
      assert.deepEqual([keystore.type, keystore.pkcs11_token_label, keystore.pkcs11_pin], ['pkcs11', TOKEN, undefined]);
      const listed = await json<{ id: string; type: string }[]>('keystore', 'list', '--vault', typesVault);
      assert.ok(listed.some((k) => k.id === keystore.id && k.type === 'pkcs11'));
      assert.equal((await json<{ health_status: string }>('keystore', 'status', keystore.id)).health_status, 'ok');
      assert.deepEqual(await verifiedThrough('hsm', 'pkcs11'), [['softhsm', 'active', 'ok']]);
    });

    it("creates an ibm_cloud_kms keystore on the other region's Key Protect with its API key from the environment, lists it, and verifies a key in it", async () => {
      const keystore = await create(
        { env: { CONCORD_UKO_IBM_API_KEY: apikey } },
        ...['--name', 'key protect', '--group', 'kp', '--type', 'ibm_cloud_kms', '--ibm-variant', 'key_protect'],
        ...['--ibm-api-endpoint', dev.endpoint(TARGET), '--ibm-iam-endpoint', dev.endpoint(TARGET), '--ibm-instance-id', instanceIdOf(ACCOUNT, TARGET)],
      );
      assert.deepEqual([keystore.type, keystore.ibm_instance_id, keystore.ibm_api_key], ['ibm_cloud_kms', instanceIdOf(ACCOUNT, TARGET), undefined]);
      const listed = await json<{ id: string; type: string }[]>('keystore', 'list', '--vault', typesVault);
      assert.deepEqual(listed.map((k) => k.type).sort(), ['ibm_cloud_kms', 'pkcs11']);
      assert.equal((await json<{ health_status: string }>('keystore', 'status', keystore.id)).health_status, 'ok');
      assert.deepEqual(await verifiedThrough('kp', 'ibm_cloud_kms'), [['key protect', 'active', 'ok']]);
    });

    it("updates a keystore's name and secret, refusing a field of another keystore type before sending anything", async () => {
      const [pkcs11] = (await json<{ id: string; type: string }[]>('keystore', 'list', '--vault', typesVault)).filter((k) => k.type === 'pkcs11');
      const refused = await uko(['keystore', 'update', pkcs11!.id, '--ibm-api-key', 'not-sent']);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, 'concord uko: --ibm-api-key is a field of ibm_cloud_kms keystores, not of pkcs11 ones.\n');
      const wrongPin = await uko(['keystore', 'update', pkcs11!.id, '--name', 'softhsm wrong pin'], { env: { CONCORD_UKO_PKCS11_PIN: '0000' } });
      assert.equal(wrongPin.code, 0, wrongPin.stderr);
      assert.equal((await json<{ health_status: string }>('keystore', 'status', pkcs11!.id)).health_status, 'ok');
      const updated = JSON.parse(
        await okWith({ stdin: '0000\n' }, 'keystore', 'update', pkcs11!.id, '--name', 'softhsm renamed', '--secret-stdin', '--json'),
      ) as Record<string, string>;
      assert.deepEqual([updated.name, updated.pkcs11_pin], ['softhsm renamed', undefined]);
      assert.notEqual((await json<{ health_status: string }>('keystore', 'status', pkcs11!.id)).health_status, 'ok');
    });
  });
});
