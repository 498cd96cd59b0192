import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { SoftwareCryptoUnit } from '../../cryptounits/index.ts';
import { IamTokens } from '../../iam/index.ts';
import { KeyService, type Caller } from '../../kms/index.ts';
import { PostgresStore, SqliteStore, type Store } from '../../store/index.ts';
import { Uko } from '../../uko/index.ts';
import { freePorts } from '../../../test/e2e/harness.ts';
import { freshSchema, requirePostgres } from '../../../test/e2e/postgres-harness.ts';
import { ukoSurface } from './uko-surface.ts';

const ACCOUNT = '111122223333';
const ADMIN: Caller = { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/admin` };
const READER: Caller = { account: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/reader` };
/** The fields of UKO's answers this test reads. */
interface Answer {
  status_code: number;
  trace: string;
  errors: [{ code: string; message: string; target?: { type: string; name: string } }];
  id: string;
  name: string;
  state: string;
  description: string;
  location: string;
  keys_count: number;
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  total_count: number;
  limit: number;
  offset: number;
  first: { href: string };
  last: { href: string };
  previous: { href: string };
  next: { href: string };
  vaults: { name: string }[];
  keystores: unknown;
  verification_patterns: { method: string }[];
  status_in_keystores: unknown[];
}

/** Each store the surface runs on: opens a fresh one, and answers how to close and drop it. */
const BACKENDS: { name: string; open: (dir: string) => Promise<{ store: Store; drop: () => Promise<void> }> }[] = [
  { name: 'SQLite', open: (dir) => Promise.resolve({ store: new SqliteStore(join(dir, 'keys.db')), drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    open: async () => {
      const schema = await freshSchema(requirePostgres('the UKO surface')!);
      return { store: await PostgresStore.open(schema.url), drop: schema.drop };
    },
  },
];

for (const backend of BACKENDS)
  describe(`the UKO v4 surface on ${backend.name}`, () => {
    if (backend.name === 'PostgreSQL' && !process.env.CONCORD_TEST_PG_URL) {
      requirePostgres('the UKO surface');
      return;
    }
    let app: FastifyInstance;
    let store: Store;
    let drop: () => Promise<void>;
    let closedPort: number;
    const tokens = new Map<Caller, string>();
    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'concord-uko-surface-'));
      ({ store, drop } = await backend.open(dir));
      const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
      const service = new KeyService({
        region: 'us-east-1',
        account: ACCOUNT,
        store,
        unit,
        principals: [
          { arn: ADMIN.arn, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'uko:*', Resource: '*' }] }] },
          { arn: READER.arn, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['uko:List*', 'uko:Get*'], Resource: '*' }] }] },
        ],
      });
      const iam = new IamTokens({ store, unit, region: 'us-east-1', account: ACCOUNT });
      for (const caller of [ADMIN, READER]) {
        const { secret } = await iam.apiKeys.create({ principal: caller.arn, name: caller.arn }, caller.arn);
        tokens.set(caller, `Bearer ${(await iam.exchangeApiKey(secret)).response.access_token}`);
      }
      app = Fastify();
      await app.register(ukoSurface, {
        prefix: '/api/v4',
        uko: new Uko({ store, unit }),
        authenticate: (authorization) => iam.authenticate(authorization),
        authorize: service.authorizeUko,
      });
      closedPort = await freePorts(1);
    });
    after(async () => {
      await app.close();
      await store.close();
      await drop();
    });

    const call = async (method: string, url: string, options: { body?: unknown; ifMatch?: string; token?: string; raw?: string } = {}) => {
      const response = await app.inject({
        method: method as 'GET',
        url: `/api/v4${url}`,
        headers: {
          authorization: options.token ?? tokens.get(ADMIN)!,
          'content-type': 'application/json',
          ...(options.ifMatch !== undefined ? { 'if-match': options.ifMatch } : {}),
        },
        ...(options.raw !== undefined ? { payload: options.raw } : options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
      });
      return {
        status: response.statusCode,
        etag: response.headers.etag,
        json: (response.body ? JSON.parse(response.body) : {}) as Answer,
      };
    };
    const newVault = async (name = 'vault') => (await call('POST', '/vaults', { body: { name } })).json;

    it("refuses a request without a valid bearer token with 401 in IBM's error format", async () => {
      const answer = await call('GET', '/vaults', { token: 'Bearer forged' });
      assert.equal(answer.status, 401);
      assert.equal(answer.json.status_code, 401);
      assert.equal(typeof answer.json.trace, 'string');
      assert.equal(answer.json.errors[0].code, 'unauthorized');
      assert.deepEqual(answer.json.errors[0].target, { type: 'header', name: 'Authorization' });
    });

    it('authorizes each operation as uko:<operation> through the identity policies', async () => {
      assert.equal((await call('GET', '/vaults', { token: tokens.get(READER)! })).status, 200);
      const refused = await call('POST', '/vaults', { token: tokens.get(READER)!, body: { name: 'not allowed' } });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.errors[0].code, 'forbidden');
      assert.match(refused.json.errors[0].message, /uko:CreateVault/);
    });

    it('answers a created vault with 201 and its ETag, and GET with the same ETag', async () => {
      const created = await call('POST', '/vaults', { body: { name: 'etag vault', description: 'd' } });
      assert.equal(created.status, 201);
      assert.match(created.etag!, /^"[\w-]+"$/);
      assert.equal(created.json.keys_count, 0);
      const read = await call('GET', `/vaults/${created.json.id}`);
      assert.equal(read.etag, created.etag);
      assert.equal(read.json.name, 'etag vault');
    });

    it('refuses a change without If-Match with 428 and with a stale ETag with 412', async () => {
      const created = await call('POST', '/vaults', { body: { name: 'guarded' } });
      const path = `/vaults/${created.json.id}`;
      const missing = await call('PATCH', path, { body: { description: 'x' } });
      assert.equal(missing.status, 428);
      assert.deepEqual(missing.json.errors[0].target, { type: 'header', name: 'If-Match' });
      const changed = await call('PATCH', path, { body: { description: 'first' }, ifMatch: created.etag! });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.etag, created.etag);
      const stale = await call('PATCH', path, { body: { description: 'second' }, ifMatch: created.etag! });
      assert.equal(stale.status, 412);
      assert.equal((await call('GET', path)).json.description, 'first');
      assert.equal((await call('DELETE', path)).status, 428);
      assert.equal((await call('DELETE', path, { ifMatch: created.etag! })).status, 412);
      assert.equal((await call('DELETE', path, { ifMatch: changed.etag! })).status, 204);
      assert.equal((await call('GET', path)).status, 404);
    });

    it('pages lists with limit and offset and links first, last, previous and next', async () => {
      for (const name of ['page-c', 'page-a', 'page-e', 'page-b', 'page-d']) await newVault(name);
      const all = (await call('GET', '/vaults?limit=1000')).json;
      const page = await call('GET', `/vaults?limit=2&offset=2&sort=name`);
      assert.equal(page.status, 200);
      assert.equal(page.json.total_count, all.total_count);
      assert.equal(page.json.limit, 2);
      assert.equal(page.json.offset, 2);
      const sortedNames = all.vaults.map((v) => v.name).sort((a, b) => a.localeCompare(b));
      assert.deepEqual(
        page.json.vaults.map((v) => v.name),
        sortedNames.slice(2, 4),
      );
      assert.match(page.json.first.href, /offset=0/);
      assert.match(page.json.previous.href, /offset=0/);
      assert.match(page.json.next.href, /offset=4/);
      assert.match(page.json.last.href, new RegExp(`offset=${Math.floor((all.total_count - 1) / 2) * 2}`));
      const filtered = await call('GET', '/vaults?name=page-e');
      assert.deepEqual(
        filtered.json.vaults.map((v) => v.name),
        ['page-e'],
      );
    });

    it('answers bad input with 4xx in the error format, never 500', async () => {
      const cases: [string, string, { body?: unknown; raw?: string; ifMatch?: string }, number, string][] = [
        ['POST', '/vaults', { raw: '{"name":' }, 400, 'invalid_body'],
        ['POST', '/vaults', { body: {} }, 400, 'missing_field'],
        ['POST', '/vaults', { body: { name: 7 } }, 400, 'invalid_field'],
        ['POST', '/vaults', { body: ['a'] }, 400, 'invalid_field'],
        ['POST', '/vaults', { body: { name: 'x'.repeat(101) } }, 400, 'invalid_field'],
        ['POST', '/vaults', { raw: JSON.stringify({ name: 'x'.repeat(70_000) }) }, 413, 'request_too_large'],
        ['GET', '/vaults?limit=abc', {}, 400, 'invalid_query_parameter'],
        ['GET', '/vaults?limit=5000', {}, 400, 'invalid_query_parameter'],
        ['GET', '/vaults?sort=secret', {}, 400, 'invalid_query_parameter'],
        ['GET', '/vaults?color=blue', {}, 400, 'invalid_query_parameter'],
        ['GET', '/vaults/no-such-vault', {}, 404, 'vault_not_found'],
        ['GET', '/managed_keys/..%2Fvault', {}, 404, 'managed_key_not_found'],
        ['POST', '/managed_keys/unknown/activate', { ifMatch: '"x"' }, 404, 'managed_key_not_found'],
        ['GET', '/nothing-here', {}, 404, 'not_found'],
      ];
      for (const [method, url, options, status, code] of cases) {
        const answer = await call(method, url, options);
        assert.equal(answer.status, status, `${method} ${url}`);
        assert.equal(answer.json.errors[0].code, code, `${method} ${url}`);
        assert.equal(answer.json.status_code, status);
      }
    });

    it('refuses templates the orchestrator cannot honour', async () => {
      const vault = await newVault('templates');
      const template = (key: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
        vault: { id: vault.id },
        name: 'T1',
        key: { algorithm: 'aes', size: '256', ...key },
        keystores: [{ group: 'g', type: 'aws_kms' }],
        ...more,
      });
      assert.equal((await call('POST', '/templates', { body: template({ algorithm: 'rsa', size: '2048' }) })).json.errors[0].code, 'algorithm_not_supported');
      assert.equal((await call('POST', '/templates', { body: template({ size: '128' }) })).json.errors[0].code, 'invalid_field');
      assert.equal((await call('POST', '/templates', { body: template({}, { keystores: [] }) })).status, 400);
      const created = await call('POST', '/templates', { body: template({}) });
      assert.equal(created.status, 201);
      assert.equal(created.json.state, 'unarchived');
      assert.deepEqual(created.json.keystores, [{ group: 'g', type: 'aws_kms' }]);
      const again = await call('POST', '/templates', { body: template({}) });
      assert.equal(again.status, 409);
      assert.equal(again.json.errors[0].code, 'template_name_exists');
      const archived = await call('POST', `/templates/${created.json.id}/archive`, { ifMatch: created.etag! });
      assert.equal(archived.json.state, 'archived');
      const fromArchived = await call('POST', '/managed_keys', { body: { template_name: 'T1', vault: { id: vault.id } } });
      assert.equal(fromArchived.json.errors[0].code, 'key_template_archived');
    });

    it('refuses Azure, Google and CCA keystores as not supported, and a dry run that cannot reach the keystore', async () => {
      const vault = await newVault('keystores');
      for (const type of ['azure_key_vault', 'google_kms', 'cca']) {
        const refused = await call('POST', '/keystores', { body: { type, vault: { id: vault.id }, name: 'k' } });
        assert.equal(refused.status, 400);
        assert.equal(refused.json.errors[0].code, 'keystore_type_not_supported');
      }
      const dryRun = await call('POST', '/keystores?dry_run=true', {
        body: {
          type: 'aws_kms',
          vault: { id: vault.id },
          name: 'unreachable',
          aws_region: 'us-west-2',
          aws_access_key_id: 'AKIAEXAMPLE',
          aws_secret_access_key: 'not-a-real-secret',
          aws_endpoint: `http://127.0.0.1:${closedPort}`,
        },
      });
      assert.equal(dryRun.status, 400);
      assert.equal(dryRun.json.errors[0].code, 'keystore_connection_failed');
      assert.equal((await call('GET', `/keystores?vault.id=${vault.id}`)).json.total_count, 0);
    });

    it('keeps the secret access key only wrapped and never shows it', async () => {
      const vault = await newVault('secrets');
      const secret = 'keystore-secret-that-must-not-leak';
      const created = await call('POST', '/keystores', {
        body: {
          type: 'aws_kms',
          vault: { id: vault.id },
          name: 'aws',
          groups: ['g'],
          aws_region: 'us-west-2',
          aws_access_key_id: 'AKIAEXAMPLE',
          aws_secret_access_key: secret,
        },
      });
      assert.equal(created.status, 201);
      assert.equal(created.json.aws_access_key_id, 'AKIAEXAMPLE');
      assert.equal(created.json.location, 'us-west-2');
      assert.equal(created.json.aws_secret_access_key, undefined);
      const stored = await store.list('uko/');
      assert.ok(stored.length > 0);
      assert.ok(stored.every((entry) => !entry.value.includes(secret)));
    });

    it('creates a managed key pre-active from a template and guards its changes with If-Match', async () => {
      const vault = await newVault('keys');
      await call('POST', '/templates', {
        body: { vault: { id: vault.id }, name: 'K', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'none', type: 'aws_kms' }] },
      });
      const created = await call('POST', '/managed_keys', { body: { template_name: 'K', vault: { id: vault.id }, label: 'my key' } });
      assert.equal(created.status, 201);
      assert.equal(created.json.state, 'pre_activation');
      assert.equal(created.json.verification_patterns[0]?.method, 'enc-zero');
      assert.deepEqual(created.json.status_in_keystores, []);
      const path = `/managed_keys/${created.json.id}`;
      assert.equal((await call('POST', `${path}/activate`)).status, 428);
      assert.equal((await call('POST', `${path}/activate`, { ifMatch: '"stale"' })).status, 412);
      const active = await call('POST', `${path}/activate`, { ifMatch: created.etag! });
      assert.equal(active.status, 200);
      assert.equal(active.json.state, 'active');
      const again = await call('POST', `${path}/activate`, { ifMatch: active.etag! });
      assert.equal(again.status, 409);
      assert.equal(again.json.errors[0].code, 'invalid_state');
      assert.equal((await call('DELETE', path, { ifMatch: active.etag! })).status, 409);
      assert.equal((await call('POST', `${path}/sync_status_in_keystores`)).status, 428);
      const versions = await call('GET', `${path}/versions`);
      assert.equal(versions.json.total_count, 1);
      assert.equal((await call('GET', `${path}/associated_resources`)).json.total_count, 0);
    });
  });
