import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { SqliteStore } from '../store/index.ts';
import { IamTokens } from './iam-tokens.ts';

const ACCOUNT = '111122223333';
const USER = `arn:aws:iam::${ACCOUNT}:user/app`;

const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('IamTokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-iam-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  let now = Date.UTC(2026, 0, 1);
  /** A node of the region: each has its own caches over the shared store. */
  const node = () => new IamTokens({ store, unit, region: 'us-south', account: ACCOUNT, now: () => now });
  after(() => store.close());

  it('exchanges an API key for an access token with iat and exp that another node accepts as its principal', async () => {
    const { apiKey, secret } = await node().apiKeys.create({ principal: USER, name: 'ci' }, 'admin');
    assert.match(apiKey.id, /^ApiKey-[0-9a-f-]{36}$/);
    assert.equal(secret.length, 44);
    const { response: tokens } = await node().exchangeApiKey(secret);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.expiration, now / 1000 + 3600);
    const claims = claimsOf(tokens.access_token);
    assert.equal(claims.iat, now / 1000);
    assert.equal(claims.exp, now / 1000 + 3600);
    assert.equal(claims.sub, USER);
    assert.deepEqual(claims.account, { valid: true, bss: ACCOUNT });
    const identity = await node().authenticate(`Bearer ${tokens.access_token}`);
    assert.deepEqual(identity.caller, { account: ACCOUNT, arn: USER });
    assert.equal(identity.apiKeyId, apiKey.id);
    assert.equal(identity.iamId, claims.iam_id);
  });

  it('stores neither the secret nor anything that reveals it without the wrapped hash key', async () => {
    const { secret } = await node().apiKeys.create({ principal: USER }, 'admin');
    const everything = (await store.list('iam/')).map((entry) => `${entry.key}=${entry.value}`).join('\n');
    assert.ok(!everything.includes(secret));
    assert.ok(!everything.includes(Buffer.from(secret).toString('base64')));
  });

  it('refreshes tokens with the refresh token, which is never accepted as an access token', async () => {
    const { secret } = await node().apiKeys.create({ principal: USER }, 'admin');
    const { response: first } = await node().exchangeApiKey(secret);
    now += 60_000;
    const { response: second } = await node().refresh(first.refresh_token);
    assert.equal(claimsOf(second.access_token).iat, now / 1000);
    await assert.rejects(node().authenticate(`Bearer ${first.refresh_token}`), { code: 'BXNIM0407E', status: 401 });
    await assert.rejects(node().refresh(first.access_token), { code: 'BXNIM0407E', status: 400 });
  });

  it('stops every token of a revoked key at once, on the node that revoked it, and on the others within a second', async () => {
    const other = node();
    const revoking = node();
    const { apiKey, secret } = await revoking.apiKeys.create({ principal: USER }, 'admin');
    const { response: tokens } = await revoking.exchangeApiKey(secret);
    await other.authenticate(`Bearer ${tokens.access_token}`);
    await revoking.apiKeys.revoke(apiKey.id, 'admin');
    await assert.rejects(revoking.authenticate(`Bearer ${tokens.access_token}`), { status: 401 });
    await assert.rejects(revoking.refresh(tokens.refresh_token), { code: 'BXNIM0407E' });
    await assert.rejects(revoking.exchangeApiKey(secret), { code: 'BXNIM0415E', status: 400 });
    now += 1000;
    await assert.rejects(other.authenticate(`Bearer ${tokens.access_token}`), { status: 401 });
    assert.equal((await revoking.apiKeys.get(apiKey.id))?.state, 'revoked');
  });

  it('refuses a token once it has expired', async () => {
    const { secret } = await node().apiKeys.create({ principal: USER }, 'admin');
    const { response: tokens } = await node().exchangeApiKey(secret);
    now += 3600_000;
    await assert.rejects(node().authenticate(`Bearer ${tokens.access_token}`), { status: 401 });
  });

  it('lists keys by principal without their secrets, and refuses principals of other accounts', async () => {
    const other = `arn:aws:iam::${ACCOUNT}:user/other`;
    await node().apiKeys.create({ principal: other, description: 'for listing' }, 'admin');
    const listed = await node().apiKeys.list(other);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.description, 'for listing');
    assert.ok(!('hash' in listed[0]!));
    await assert.rejects(node().apiKeys.create({ principal: 'arn:aws:iam::999999999999:user/x' }, 'admin'), { code: 'BXNIM0109E' });
    await assert.rejects(node().apiKeys.revoke('ApiKey-00000000-0000-0000-0000-000000000000', 'admin'), { status: 404 });
  });

  it('makes a configured key once, and not again once revoked', async () => {
    const secret = 'a-configured-api-key-of-forty-four-characters';
    await node().apiKeys.ensure({ principal: USER, name: 'configured' }, secret, 'configuration');
    await node().apiKeys.ensure({ principal: USER, name: 'configured' }, secret, 'configuration');
    const key = (await node().apiKeys.list(USER)).filter((k) => k.name === 'configured');
    assert.equal(key.length, 1);
    await node().exchangeApiKey(secret);
    await node().apiKeys.revoke(key[0]!.id, 'admin');
    await node().apiKeys.ensure({ principal: USER, name: 'configured' }, secret, 'configuration');
    await assert.rejects(node().exchangeApiKey(secret), { code: 'BXNIM0415E' });
  });
});
