import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { eventually } from '../e2e/eventually.ts';
import { ACCOUNT } from '../e2e/harness.ts';
import { bearer, KP_APIKEYS, KP_WRAPPER, kpClient, kpRegionConfig } from '../e2e/key-protect-client.ts';
import { mgmtRequest } from '../e2e/mgmt-request.ts';
import { startRegionServers, type RegionServers } from '../e2e/region-servers.ts';

const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Key Protect access: forged, expired and revoked bearer tokens, wrong instances', () => {
  let region: RegionServers;
  const listKeys = (authorization: string | undefined, instance = INSTANCE) =>
    fetch(`${region.endpoint(REGION)}/api/v2/keys`, {
      headers: { ...(authorization !== undefined ? { authorization } : {}), 'bluemix-instance': instance },
    });
  const reasonOf = async (response: Response): Promise<string> =>
    ((await response.json()) as { resources: { reasons: { code: string }[] }[] }).resources[0]!.reasons[0]!.code;

  let refusals = 0;
  /** Tokens issued so far: a refused exchange is sent and its log line awaited, so every earlier line is in. */
  const settledTokenCount = async (): Promise<number> => {
    refusals += 1;
    await fetch(`${region.endpoint(REGION)}/identity/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: 'not-a-key' }),
    });
    await eventually(() => {
      assert.equal(region.output(REGION).match(/"operation":"iam:GetToken"[^\n]*"status":400/g)?.length, refusals);
    });
    return region.output(REGION).match(/"operation":"iam:GetToken"[^\n]*"status":200/g)?.length ?? 0;
  };

  before(async () => {
    region = await startRegionServers([REGION], kpRegionConfig());
  });
  after(async () => {
    await region.stopAll();
  });

  it('refuses requests without a bearer token, with one forged with alg none, or with changed claims, as UNAUTHORIZED_ERR', async () => {
    const token = await bearer(region.endpoint(REGION), KP_APIKEYS.wrapper);
    assert.equal((await listKeys(`Bearer ${token}`)).status, 401, 'the wrapper may not list keys');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = [
      undefined,
      'Bearer ',
      `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, sub: `arn:aws:iam::${ACCOUNT}:user/kp-admin` })}.`,
      `Bearer ${header}.${b64({ ...claims, sub: `arn:aws:iam::${ACCOUNT}:user/kp-admin` })}.${signature}`,
      `Bearer ${header}.${b64({ ...claims, exp: 1 })}.${signature}`,
      `Basic ${Buffer.from(`apikey:${KP_APIKEYS.admin}`).toString('base64')}`,
    ];
    for (const authorization of forged) {
      const response = await listKeys(authorization);
      assert.equal(response.status, 401, String(authorization));
      assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.ibm\.kms\.error\+json/);
      assert.equal(await reasonOf(response), 'UNAUTHORIZED_ERR');
    }
  });

  it('refuses an instance other than the region’s own, after authenticating', async () => {
    const token = await bearer(region.endpoint(REGION), KP_APIKEYS.admin);
    assert.equal((await listKeys(`Bearer ${token}`)).status, 200);
    for (const instance of ['', 'another-instance', instanceIdOf('999999999999', REGION), instanceIdOf(ACCOUNT, 'us-west-2')]) {
      const response = await listKeys(`Bearer ${token}`, instance);
      assert.equal(response.status, 401, instance);
      assert.equal(await reasonOf(response), 'UNAUTHORIZED_ERR');
    }
  });

  it('stops a revoked API key’s tokens at once, while the SDK fetched its token only once', async () => {
    const created = await mgmtRequest(region.endpoint(REGION), REGION, 'POST', '/apikeys', JSON.stringify({ principal: KP_WRAPPER, name: 'revoked-later' }));
    assert.equal(created.status, 201);
    const { id, apikey } = created.json as { id: string; apikey: string };
    const sdk = kpClient(region.endpoint(REGION), apikey);
    const wrapped = async () => {
      const result = await sdk.getKeys({ bluemixInstance: INSTANCE }).catch((error: unknown) => (error as { status: number }).status);
      return typeof result === 'number' ? result : result.status;
    };
    const before = await settledTokenCount();
    assert.equal(await wrapped(), 401, 'kms:ListKeys is not the wrapper’s');
    assert.equal(await wrapped(), 401);
    assert.equal(await settledTokenCount(), before + 1);

    const token = await bearer(region.endpoint(REGION), apikey);
    const keyList = () =>
      fetch(`${region.endpoint(REGION)}/api/v2/keys/00000000-0000-4000-8000-000000000000/metadata`, {
        headers: { authorization: `Bearer ${token}`, 'bluemix-instance': INSTANCE },
      });
    assert.equal((await keyList()).status, 404, 'authenticated: the key is unknown');
    assert.equal((await mgmtRequest(region.endpoint(REGION), REGION, 'POST', `/apikeys/${id}/revoke`)).status, 200);
    const after = await keyList();
    assert.equal(after.status, 401);
    assert.equal(await reasonOf(after), 'UNAUTHORIZED_ERR');
    await assert.rejects(kpClient(region.endpoint(REGION), apikey).getKeys({ bluemixInstance: INSTANCE }));
  });
});
