import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { IamTokens } from '../../src/iam/index.ts';
import { SqliteStore } from '../../src/store/index.ts';

const ACCOUNT = '111122223333';
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const partsOf = (jwt: string) => {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    signature,
  };
};

function region(name: string): { tokens: IamTokens; store: SqliteStore; setNow(ms: number): void } {
  const dir = mkdtempSync(join(tmpdir(), `concord-forged-iam-${name}-`));
  const store = new SqliteStore(join(dir, 'keys.db'));
  let now = Date.now();
  const tokens = new IamTokens({
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')),
    region: 'us-south',
    account: ACCOUNT,
    now: () => now,
  });
  return {
    tokens,
    store,
    setNow(ms) {
      now = ms;
    },
  };
}

describe('forged IAM tokens and wrong API keys', () => {
  const ours = region('ours');
  const theirs = region('theirs');
  let secret: string;
  let token: string;
  before(async () => {
    ({ secret } = await ours.tokens.apiKeys.create({ principal: APP }, ADMIN));
    token = (await ours.tokens.exchangeApiKey(secret)).response.access_token;
  });
  after(async () => {
    await ours.store.close();
    await theirs.store.close();
  });
  const refused = (jwt: string) => assert.rejects(ours.tokens.authenticate(`Bearer ${jwt}`), { code: 'BXNIM0407E', status: 401 });

  it('refuses a token with alg none and no signature', async () => {
    const { header, claims } = partsOf(token);
    await refused(`${b64({ ...header, alg: 'none' })}.${b64(claims)}.`);
    await refused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`);
  });

  it('refuses a token signed HS256 with the public signing key as the HMAC secret (algorithm confusion)', async () => {
    const { header, claims } = partsOf(token);
    const jwk = (await ours.tokens.jwks()).keys[0]!;
    for (const secretGuess of [JSON.stringify(jwk), String(jwk.x)]) {
      const input = `${b64({ ...header, alg: 'HS256' })}.${b64(claims)}`;
      await refused(`${input}.${createHmac('sha256', secretGuess).update(input).digest('base64url')}`);
    }
  });

  it('refuses a token whose claims were changed to another principal after signing', async () => {
    const { header, claims, signature } = partsOf(token);
    await refused(`${b64(header)}.${b64({ ...claims, sub: ADMIN })}.${signature}`);
    await refused(`${b64(header)}.${b64({ ...claims, exp: (claims.exp as number) + 86400 })}.${signature}`);
  });

  it('refuses a token another region signed, and one signed by an ES256 key of the attacker naming our kid', async () => {
    const { secret: theirSecret } = await theirs.tokens.apiKeys.create({ principal: APP }, ADMIN);
    await refused((await theirs.tokens.exchangeApiKey(theirSecret)).response.access_token);
    const { header, claims } = partsOf(token);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${b64(header)}.${b64({ ...claims, sub: ADMIN })}`;
    await refused(`${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`);
  });

  it('refuses an expired token and one issued in the future', async () => {
    const { header, claims, signature } = partsOf(token);
    ours.setNow(((claims.exp as number) + 1) * 1000);
    await refused(token);
    ours.setNow(((claims.iat as number) - 3600) * 1000);
    await refused(token);
    ours.setNow(Date.now());
    await refused(`${b64(header)}.${b64({ ...claims, exp: undefined })}.${signature}`);
  });

  it('refuses malformed and oversized bearer values without throwing anything else', async () => {
    for (const value of ['', 'a.b', 'a.b.c.d', `${token}x`, `${'A'.repeat(9000)}.${'B'.repeat(10)}.c`, 'not base64!.x.y']) {
      await refused(value);
    }
    await assert.rejects(ours.tokens.authenticate(undefined), { status: 401 });
    await assert.rejects(ours.tokens.authenticate(`Basic ${Buffer.from('a:b').toString('base64')}`), { status: 401 });
  });

  it('refuses wrong API keys: another secret, one character changed, empty and oversized ones, with the same error', async () => {
    const changed = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const wrong of [changed, 'x'.repeat(44), '', 'y'.repeat(100_000), secret.toUpperCase()]) {
      await assert.rejects(ours.tokens.exchangeApiKey(wrong), { code: 'BXNIM0415E', status: 400, message: 'Provided API key could not be found.' });
    }
  });
});
