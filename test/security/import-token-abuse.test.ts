import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sealImportEnvelope } from '../../src/crypto/index.ts';
import { SoftwareCryptoUnit } from '../../src/cryptounits/index.ts';
import { instanceIdOf, KeyProtectService } from '../../src/keyprotect/index.ts';
import { KeyService } from '../../src/kms/index.ts';
import { Outbox } from '../../src/outbox/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { ACCOUNT } from '../e2e/harness.ts';
import { bearer, KP_APIKEYS, kpRegionConfig } from '../e2e/key-protect-client.ts';
import { startRegionServers, type RegionServers } from '../e2e/region-servers.ts';

const REGION = 'us-east-1';

describe('Import token abuse: replayed imports, tokens retrieved too often or by the wrong principal', () => {
  let region: RegionServers;
  let admin: string;
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${region.endpoint(REGION)}/api/v2/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'bluemix-instance': instanceIdOf(ACCOUNT, REGION), 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const reason = (answer: { body: Record<string, unknown> }): string =>
    (answer.body as { resources: { reasons: { code: string }[] }[] }).resources[0]!.reasons[0]!.code;
  const retrieve = async () => (await call('GET', 'import_token', admin)).body as { payload: string; nonce: string };
  const importKey = (envelope: object) => call('POST', 'keys', admin, { resources: [{ name: 'byok', extractable: false, ...envelope }] });

  before(async () => {
    region = await startRegionServers([REGION], kpRegionConfig());
    admin = await bearer(region.endpoint(REGION), KP_APIKEYS.admin);
  });
  after(async () => {
    await region.stopAll();
  });

  it('refuses a replayed import request, even sent twice at once: each nonce imports one key', async () => {
    assert.equal((await call('POST', 'import_token', admin, { maxAllowedRetrievals: 5 })).status, 200);
    const envelope = sealImportEnvelope(randomBytes(32), await retrieve());
    const answers = await Promise.all([importKey(envelope), importKey(envelope)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 400]);
    assert.equal(reason(answers.find((a) => a.status === 400)!), 'INCORRECT_NONCE_ERR');
    const replay = await importKey(envelope);
    assert.equal(replay.status, 400);
    assert.equal(reason(replay), 'INCORRECT_NONCE_ERR');
  });

  it('refuses a nonce of a token replaced by a newer one', async () => {
    await call('POST', 'import_token', admin, {});
    const envelope = sealImportEnvelope(randomBytes(32), await retrieve());
    await call('POST', 'import_token', admin, {});
    const refused = await importKey(envelope);
    assert.equal(refused.status, 400);
    assert.ok(
      ['INCORRECT_NONCE_ERR', 'BAD_BODY_ERR'].includes(reason(refused)),
      'material sealed for the old key cannot be opened, and its nonce is not the new token’s',
    );
  });

  it('refuses to give out a token retrieved as often as it allows', async () => {
    await call('POST', 'import_token', admin, { maxAllowedRetrievals: 1 });
    assert.equal((await call('GET', 'import_token', admin)).status, 200);
    const again = await call('GET', 'import_token', admin);
    assert.equal(again.status, 409);
    assert.equal(reason(again), 'IMPORT_TOKEN_EXPIRED_ERR');
  });

  it('refuses import tokens to a principal not allowed kms:GetParametersForImport, and tells it nothing of the token', async () => {
    await call('POST', 'import_token', admin, { maxAllowedRetrievals: 3 });
    const wrapper = await bearer(region.endpoint(REGION), KP_APIKEYS.wrapper);
    for (const method of ['GET', 'POST']) {
      const refused = await call(method, 'import_token', wrapper, method === 'POST' ? {} : undefined);
      assert.equal(refused.status, 401);
      assert.equal(JSON.stringify(refused.body).includes('nonce'), false);
    }
    assert.equal((await retrieve()).nonce.length, 16, 'the refused calls spent no retrieval');
  });

  it('refuses oversized and malformed import fields with BAD_BODY_ERR, never a 500', async () => {
    // The token of the test before, with retrievals left.
    const envelope = sealImportEnvelope(randomBytes(32), await retrieve());
    for (const change of [{ payload: 'A'.repeat(1 << 20) }, { encryptedNonce: 7 }, { iv: 'not base64!' }, { iv: null }, { payload: [] }, { expiration: 600 }]) {
      const answer = await importKey({ ...envelope, ...change });
      assert.ok(answer.status === 400 || answer.status === 201, JSON.stringify(change).slice(0, 40));
      if (answer.status === 400) assert.match(reason(answer), /^(BAD_BODY_ERR|INCORRECT_NONCE_IV_ERR)$/);
    }
    for (const body of [{ expiration: 1e12 }, { maxAllowedRetrievals: -1 }, { expiration: 300.5 }]) {
      const answer = await call('POST', 'import_token', admin, body);
      assert.equal(answer.status, 400);
      assert.equal(reason(answer), 'BAD_BODY_ERR');
    }
  });
});

describe('Import token abuse: an expired token', () => {
  it('refuses material sealed for a token once the token has expired, though its nonce was never used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-kp-expired-'));
    const store = new SqliteStore(join(dir, 'keys.db'));
    let now = Date.UTC(2026, 0, 1);
    const arn = `arn:aws:iam::${ACCOUNT}:user/admin`;
    const service = new KeyService({
      region: REGION,
      account: ACCOUNT,
      store,
      unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')),
      now: () => now,
      principals: [{ arn, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] }],
    });
    const kp = new KeyProtectService({ service, outbox: new Outbox(store, pino({ level: 'silent' })), log: pino({ level: 'silent' }) });
    const who = { caller: { account: ACCOUNT, arn }, iamId: 'iam-admin' };
    try {
      await kp.importTokens.create(who, { expiration: 300 });
      const envelope = sealImportEnvelope(randomBytes(32), await kp.importTokens.retrieve(who));
      now += 300_000;
      await assert.rejects(kp.keys.createKey(who, { name: 'late', ...envelope }), { code: 'IMPORT_TOKEN_EXPIRED_ERR', status: 409 });
    } finally {
      await store.close();
    }
  });
});
