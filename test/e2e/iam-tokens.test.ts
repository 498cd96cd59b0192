import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IamAuthenticator } from '@ibm-cloud/ibm-key-protect/auth/index.js';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, ACCOUNT, BIN, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const run = promisify(execFile);
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;

interface IamErrorBody {
  errorCode: string;
  errorMessage: string;
  context: { requestId: string };
}

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('IAM-style tokens (IBM SDK IamAuthenticator, concord apikey)', () => {
  let dev: DevDeployment;
  let devApiKey: string;

  const tokenRequest = (path: string, form: Record<string, string>) =>
    fetch(`${dev.endpoint()}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  const apikeyCli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [BIN, 'apikey', ...args, '--endpoint', dev.endpoint()], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY },
    });
    return JSON.parse(stdout) as unknown;
  };
  const bearerOf = async (authenticator: IamAuthenticator): Promise<string> => {
    const options: { headers?: Record<string, string> } = { headers: {} };
    await authenticator.authenticate(options);
    return options.headers!.Authorization!.replace(/^Bearer /, '');
  };

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    devApiKey = / -d apikey=(\S+)/.exec(dev.banner())![1]!;
  });
  after(async () => {
    await dev.stop();
  });

  it("gets a token for concord dev's API key through IamAuthenticator once, as its iat and exp let the SDK keep it", async () => {
    const authenticator = new IamAuthenticator({ apikey: devApiKey, url: dev.endpoint() });
    const first = await bearerOf(authenticator);
    const second = await bearerOf(authenticator);
    assert.equal(second, first);
    const claims = claimsOf(first);
    assert.equal(claims.sub, `arn:aws:iam::${ACCOUNT}:user/admin`);
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);
    // A refused exchange after the SDK's calls: once its log line is there, so are theirs.
    assert.equal((await tokenRequest('/identity/token', { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: 'wrong' })).status, 400);
    await eventually(() => {
      assert.match(dev.output(), /"operation":"iam:GetToken"[^\n]*"status":400/);
    });
    assert.equal(dev.output().match(/"operation":"iam:GetToken"[^\n]*"status":200/g)?.length, 1);
  });

  it('serves /oidc/token too, with refresh, in IBM IAM shapes', async () => {
    const response = await tokenRequest('/oidc/token', { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: devApiKey });
    assert.equal(response.status, 200);
    const tokens = (await response.json()) as { access_token: string; refresh_token: string; token_type: string; expires_in: number; expiration: number };
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.expiration, claimsOf(tokens.access_token).exp);
    const refreshed = await tokenRequest('/identity/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200);
    const missing = await tokenRequest('/identity/token', { grant_type: 'urn:ibm:params:oauth:grant-type:apikey' });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as IamErrorBody).errorCode, 'BXNIM0109E');
  });

  it('creates, lists and revokes API keys with concord apikey; a revoked key gets no more tokens', async () => {
    const created = (await apikeyCli('create', '--principal', APP, '--name', 'ci', '--description', 'pipeline')) as { id: string; apikey: string };
    assert.match(created.id, /^ApiKey-/);
    const listed = (await apikeyCli('list', '--principal', APP)) as { id: string; state: string; apikey?: string }[];
    assert.deepEqual(
      listed.map(({ id, state, apikey }) => ({ id, state, apikey })),
      [{ id: created.id, state: 'active', apikey: undefined }],
    );
    const token = await bearerOf(new IamAuthenticator({ apikey: created.apikey, url: dev.endpoint() }));
    assert.equal(claimsOf(token).sub, APP);

    const revoked = (await apikeyCli('revoke', created.id)) as { state: string };
    assert.equal(revoked.state, 'revoked');
    const refused = await tokenRequest('/identity/token', { grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: created.apikey });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as IamErrorBody;
    assert.equal(body.errorCode, 'BXNIM0415E');
    assert.equal(body.errorMessage, 'Provided API key could not be found.');
    assert.ok(body.context.requestId);
    await assert.rejects(bearerOf(new IamAuthenticator({ apikey: created.apikey, url: dev.endpoint() })));
  });

  it('refuses concord apikey to a caller without credentials the region knows', async () => {
    await assert.rejects(
      run(process.execPath, [BIN, 'apikey', 'list', '--endpoint', dev.endpoint()], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIANOTAKEY000000001', AWS_SECRET_ACCESS_KEY: 'not-a-secret-access-key' },
      }),
      (error: { code: number; stderr: string }) => error.code === 1 && error.stderr.includes('concord apikey:'),
    );
  });
});
