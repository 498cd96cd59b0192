import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../../cryptounits/index.ts';
import { SqliteStore } from '../../store/index.ts';
import { EXPIRED_SESSION_RETENTION_MS, SessionStore, sessionRecords } from './session-store.ts';

const ROLE = 'arn:aws:iam::111122223333:role/app';
const SESSION = 'arn:aws:sts::111122223333:assumed-role/app/unit';

describe('SessionStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-sessions-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  let now = Date.UTC(2025, 0, 1);
  const sessions = () => new SessionStore(store, unit, () => now);
  after(() => store.close());

  it('gives back the access key of a session it issued, on another node too, and keeps only a hash of the token', async () => {
    const issued = await sessions().issue(SESSION, { issuedBy: 'AssumeRole', roleArn: ROLE, tags: { team: 'a' } }, 900);
    assert.match(issued.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(issued.expiration, now + 900_000);
    const key = await sessions().resolve(issued.accessKeyId, issued.sessionToken);
    assert.deepEqual(key, {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      principal: SESSION,
      session: { issuedBy: 'AssumeRole', expiration: issued.expiration, roleArn: ROLE, tags: { team: 'a' } },
    });
    const stored = (await store.get(`sts/session/${issued.accessKeyId}`))!;
    assert.ok(!stored.includes(issued.sessionToken) && !stored.includes(issued.secretAccessKey));
  });

  it('refuses another token, and answers ExpiredTokenException once expired, cached or not', async () => {
    const cached = sessions();
    const issued = await cached.issue(SESSION, { issuedBy: 'AssumeRole', roleArn: ROLE }, 900);
    await cached.resolve(issued.accessKeyId, issued.sessionToken);
    const other = await cached.issue(SESSION, { issuedBy: 'AssumeRole', roleArn: ROLE }, 900);
    for (const resolver of [cached, sessions()]) {
      await assert.rejects(resolver.resolve(issued.accessKeyId, other.sessionToken), { code: 'UnrecognizedClientException' });
      await assert.rejects(resolver.resolve('AKIANOTASESSION00001', issued.sessionToken), { code: 'UnrecognizedClientException' });
    }
    now += 900_000;
    for (const resolver of [cached, sessions()]) {
      await assert.rejects(resolver.resolve(issued.accessKeyId, issued.sessionToken), {
        code: 'ExpiredTokenException',
        message: 'The security token included in the request is expired',
      });
    }
  });

  it('refuses a record whose principal or expiration the store changed', async () => {
    for (const change of [
      { principal: 'arn:aws:sts::111122223333:assumed-role/admin/unit' },
      { roleArn: 'arn:aws:iam::111122223333:role/admin' },
      { expiration: now + 10 * 86400_000 },
    ]) {
      const issued = await sessions().issue(SESSION, { issuedBy: 'AssumeRole', roleArn: ROLE }, 900);
      const path = `sts/session/${issued.accessKeyId}`;
      await store.transaction(async (tx) => {
        tx.put(path, JSON.stringify({ ...JSON.parse((await tx.get(path))!), ...change }));
      });
      await assert.rejects(sessions().resolve(issued.accessKeyId, issued.sessionToken), { code: 'UnrecognizedClientException' }, JSON.stringify(change));
    }
  });

  it('re-wraps a record keeping it usable', async () => {
    const issued = await sessions().issue('arn:aws:iam::111122223333:user/u', { issuedBy: 'GetSessionToken' }, 900);
    const path = `sts/session/${issued.accessKeyId}`;
    const rewrapped = await sessionRecords.rewrap((await store.get(path))!, async (wrapped, aad) => unit.wrap(await unit.unwrap(wrapped, aad), aad), path);
    await store.transaction((tx) => {
      tx.put(path, rewrapped);
    });
    assert.equal((await sessions().resolve(issued.accessKeyId, issued.sessionToken)).secretAccessKey, issued.secretAccessKey);
  });

  it('deletes sessions only once they have been expired for the retention period', async () => {
    const issued = await sessions().issue(SESSION, { issuedBy: 'AssumeRole', roleArn: ROLE }, 900);
    now += 900_000 + EXPIRED_SESSION_RETENTION_MS - 1;
    await sessions().sweep();
    assert.ok(await sessions().exists(issued.accessKeyId));
    now += 2;
    assert.ok((await sessions().sweep()) >= 1);
    assert.equal(await sessions().exists(issued.accessKeyId), false);
  });
});
