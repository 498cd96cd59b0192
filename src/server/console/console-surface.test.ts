import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { SoftwareCryptoUnit } from '../../cryptounits/index.ts';
import { CloudHsmService } from '../../hsm/index.ts';
import { IamTokens } from '../../iam/index.ts';
import { Uko } from '../../uko/index.ts';
import { ACCOUNT, ADMIN_KEY, NOBODY_KEY, REGION, testRegionServer } from '../test-region-server.ts';
import { consoleSurface } from './console-surface.ts';

/** light-my-request's Host. */
const ORIGIN = 'http://localhost:80';

describe('the console surface', () => {
  const region = testRegionServer('console');
  const assets = mkdtempSync(join(tmpdir(), 'concord-console-assets-'));
  let app: FastifyInstance;
  let iam: IamTokens;
  before(async () => {
    mkdirSync(join(assets, 'assets'));
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(assets, 'assets', 'main-ABCDEFGH.js'), 'console.log("hello");'.repeat(50));
    app = Fastify();
    const unit = SoftwareCryptoUnit.openOrInit(join(region.dir, 'crypto-unit.json'));
    const uko = new Uko({ store: region.store, unit });
    iam = new IamTokens({ store: region.store, unit, region: REGION, account: ACCOUNT });
    const cloudhsm = {
      service: new CloudHsmService({ region: REGION, account: ACCOUNT, store: region.store, unit }),
      authorize: region.service.authorizeCloudHsm,
    };
    await app.register(consoleSurface, {
      prefix: '/console',
      service: region.service,
      accessKeys: [ADMIN_KEY, NOBODY_KEY],
      peers: {},
      assetsDir: assets,
      uko,
      iam,
      cloudhsm,
    });
  });
  after(async () => {
    await app.close();
    await region.app.close();
    await region.store.close();
  });

  const signIn = async (key = ADMIN_KEY): Promise<Record<string, string>> => {
    const answer = await app.inject({
      method: 'POST',
      url: '/console/api/session',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      payload: { method: 'accessKey', accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    });
    assert.equal(answer.statusCode, 200, answer.body);
    const cookie = answer.headers['set-cookie'] as string;
    return {
      origin: ORIGIN,
      cookie: cookie.split(';')[0]!,
      'x-csrf-token': answer.json<{ csrfToken: string }>().csrfToken,
      'content-type': 'application/json',
    };
  };
  const kms = (headers: Record<string, string>, operation: string, payload: string | object): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: `/console/api/kms/${operation}`, headers, payload });
  const hsm = (headers: Record<string, string>, operation: string, payload: object): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: `/console/api/cloudhsm/${operation}`, headers, payload });

  it('serves the page uncached and the hashed bundles cached for good, gzipped when the browser takes gzip', async () => {
    const page = await app.inject({ url: '/console' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const script = await app.inject({ url: '/console/assets/main-ABCDEFGH.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(script.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(script.rawPayload).toString(), /^console\.log/);
    assert.equal((await app.inject({ url: '/console/assets/..%2Findex.html' })).statusCode, 404);
  });

  it('answers that the console is not built when dist holds no console', async () => {
    const answer = await region.app.inject({ url: '/console/' });
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.json<{ error: string }>().error, 'ConsoleNotBuilt');
  });

  it('performs a KMS operation as the signed-in principal', async () => {
    const headers = await signIn();
    const created = await kms(headers, 'CreateKey', { Description: 'from the console' });
    assert.equal(created.statusCode, 200, created.body);
    const keyId = created.json<{ KeyMetadata: { KeyId: string } }>().KeyMetadata.KeyId;
    const described = await kms(headers, 'DescribeKey', { KeyId: keyId });
    assert.equal(described.json<{ KeyMetadata: { Description: string } }>().KeyMetadata.Description, 'from the console');
    const keys = await app.inject({ url: '/console/api/keys', headers: { cookie: headers.cookie! } });
    assert.deepEqual(
      keys.json<{ keys: { KeyId: string }[] }>().keys.map((k) => k.KeyId),
      [keyId],
    );
  });

  it('signs in with an IAM API key, acts as its principal, and stops at once when the key is revoked', async () => {
    const { apiKey, secret } = await iam.apiKeys.create({ principal: ADMIN_KEY.principal, name: 'console' }, 'test');
    const answer = await app.inject({
      method: 'POST',
      url: '/console/api/session',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      payload: { method: 'apiKey', apikey: secret },
    });
    assert.equal(answer.statusCode, 200, answer.body);
    const session = answer.json<{ principal: string; credentialId: string; method: string; csrfToken: string }>();
    assert.deepEqual([session.principal, session.credentialId, session.method], [ADMIN_KEY.principal, apiKey.id, 'apiKey']);
    assert.ok(!answer.body.includes(secret), 'the answer never repeats the API key');
    const headers = {
      origin: ORIGIN,
      cookie: (answer.headers['set-cookie'] as string).split(';')[0]!,
      'x-csrf-token': session.csrfToken,
      'content-type': 'application/json',
    };
    assert.equal((await kms(headers, 'CreateKey', {})).statusCode, 200);
    await iam.apiKeys.revoke(apiKey.id, 'test');
    const after = await kms(headers, 'CreateKey', {});
    assert.equal(after.statusCode, 401, after.body);
    assert.equal(after.json<{ error: string }>().error, 'SignInRequired');
    const again = await app.inject({
      method: 'POST',
      url: '/console/api/session',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      payload: { method: 'apiKey', apikey: secret },
    });
    assert.equal(again.statusCode, 401);
    assert.equal(again.json<{ error: string }>().error, 'SignInFailed');
  });

  it('refuses a principal its policies do not allow, with the API’s own error', async () => {
    const answer = await kms(await signIn(NOBODY_KEY), 'CreateKey', {});
    assert.equal(answer.statusCode, 400);
    assert.equal(answer.json<{ error: string }>().error, 'AccessDeniedException');
  });

  it('answers bad input with a 4xx in its own format, never a 500', async () => {
    const headers = await signIn();
    const cases: [string, LightMyRequestResponse, number, string][] = [
      ['an operation the console does not perform', await kms(headers, 'Encrypt', { KeyId: 'x', Plaintext: 'eA==' }), 404, 'UnknownOperation'],
      ['an unknown operation', await kms(headers, '__proto__', {}), 404, 'UnknownOperation'],
      ['a body that is not JSON', await kms(headers, 'DescribeKey', '{'), 400, 'InvalidRequest'],
      ['a JSON array', await kms(headers, 'DescribeKey', '[]'), 400, 'InvalidRequest'],
      ['a member of the wrong type', await kms(headers, 'DescribeKey', { KeyId: 7 }), 400, 'SerializationException'],
      ['an unknown key', await kms(headers, 'DescribeKey', { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }), 400, 'NotFoundException'],
      ['a body over 64 KiB', await kms(headers, 'DescribeKey', { KeyId: 'x'.repeat(70_000) }), 413, 'BodyTooLarge'],
      [
        'a sign-in method named after a property of every object',
        await app.inject({ method: 'POST', url: '/console/api/session', headers, payload: { method: '__proto__' } }),
        400,
        'InvalidRequest',
      ],
      ['a CloudHSM operation the console does not perform', await hsm(headers, 'InitializeCluster', { ClusterId: 'x' }), 404, 'UnknownOperation'],
      ['a CloudHSM member of the wrong type', await hsm(headers, 'DescribeClusters', { MaxResults: 'many' }), 400, 'SerializationException'],
      [
        'audit events in a region that keeps no audit trail',
        await app.inject({ url: '/console/api/keys/x/audit-events', headers: { cookie: headers.cookie! } }),
        404,
        'NotFound',
      ],
      [
        'a sign-in method that does not exist',
        await app.inject({ method: 'POST', url: '/console/api/session', headers, payload: { method: 'password' } }),
        400,
        'InvalidRequest',
      ],
      ['no session', await app.inject({ url: '/console/api/keys' }), 401, 'SignInRequired'],
      [
        'crypto units of a region without managed units',
        await app.inject({ url: '/console/api/crypto-units', headers: { cookie: headers.cookie! } }),
        404,
        'NotFound',
      ],
    ];
    for (const [what, answer, status, error] of cases) {
      assert.equal(answer.statusCode, status, `${what}: ${answer.body}`);
      assert.equal(answer.json<{ error: string }>().error, error, what);
    }
  });

  it('authorizes the managed keys pages as the signed-in principal through the policy engine, adding no permission of its own', async () => {
    // Neither principal of this region has an identity policy allowing uko:*: the console refuses both as the API would.
    for (const key of [NOBODY_KEY, ADMIN_KEY]) {
      const headers = await signIn(key);
      const listed = await app.inject({ url: '/console/api/uko/managed-keys', headers: { cookie: headers.cookie! } });
      assert.equal(listed.json<{ error: string }>().error, 'AccessDeniedException', listed.body);
      assert.match(listed.json<{ message: string }>().message, /uko:ListManagedKeys/);
      const synced = await app.inject({ method: 'POST', url: '/console/api/uko/managed-keys/x/sync', headers });
      assert.match(synced.json<{ message: string }>().message, /uko:SyncManagedKey/);
    }
    const admin = await signIn();
    // Nor cloudhsm:*: the HSM pages are refused as the CloudHSM v2 API would refuse them.
    const clusters = await hsm(admin, 'DescribeClusters', {});
    assert.equal(clusters.json<{ error: string }>().error, 'AccessDeniedException', clusters.body);
    assert.match(clusters.json<{ message: string }>().message, /cloudhsm:DescribeClusters/);
    const noKeyProtect = await app.inject({ url: '/console/api/key-protect/keys/x/registrations', headers: { cookie: admin.cookie! } });
    assert.equal(noKeyProtect.statusCode, 404, noKeyProtect.body);
  });
});
