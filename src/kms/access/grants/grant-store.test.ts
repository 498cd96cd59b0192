import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../../../cryptounits/index.ts';
import { SqliteStore, type Entry, type ListOptions, type Store, type Transaction } from '../../../store/index.ts';
import { KeyService } from '../../key-service.ts';
import type { CreateGrantRequest, KmsApi } from '../../kms-api.ts';
import type { OperationName } from '../../operation.ts';
import { DAY_MS, TEST_ACCOUNT } from '../../test-key-service.ts';
import type { GrantRecord } from './grant-record.ts';
import { addGrant, GRANTS_PER_KEY, indexStoredGrants } from './grant-store.ts';

const ROOT = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:root` };
const APP = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/app` };
const CTX = { region: 'us-east-1', account: TEST_ACCOUNT };

/** The real SQLite store, counting the entries it hands out by listing. */
class CountingStore implements Store {
  readonly kind = 'sqlite';
  listed = 0;
  constructor(private readonly inner: SqliteStore) {}
  get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  async list(prefix: string, options?: ListOptions): Promise<Entry[]> {
    const entries = await this.inner.list(prefix, options);
    this.listed += entries.length;
    return entries;
  }
  transaction<T>(work: (tx: Transaction) => T | Promise<T>): Promise<T> {
    return this.inner.transaction(work);
  }
  now(): Promise<number> {
    return this.inner.now();
  }
  runExclusive(name: string, work: () => Promise<void>): Promise<boolean> {
    return this.inner.runExclusive(name, work);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const otherGrant = (keyId: string, n: number): GrantRecord => ({
  grantId: n.toString(16).padStart(64, '0'),
  keyId,
  granteePrincipal: `arn:aws:iam::${TEST_ACCOUNT}:role/other-${n}`,
  issuingAccount: TEST_ACCOUNT,
  operations: ['Encrypt', 'Decrypt'],
  createdAt: 0,
});

describe('grants by grantee', () => {
  let store: CountingStore;
  let service: KeyService;
  let clock = Date.UTC(2030, 0, 1);
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input'], caller = ROOT) => service.call(operation, input, caller);
  const createKey = async (): Promise<string> => ((await call('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId;
  const addOtherGrants = (keyId: string, from: number, to: number) =>
    store.transaction(async (tx) => {
      for (let n = from; n < to; n++) await addGrant(CTX, tx, otherGrant(keyId, n));
    });

  before(() => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-grant-store-'));
    store = new CountingStore(new SqliteStore(join(dir, 'keys.db')));
    service = new KeyService({ ...CTX, store, unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')), now: () => clock });
  });
  after(async () => {
    await store.close();
  });

  it('authorizes a grantee by reading its own grants only, however many grants others hold on the key', async () => {
    const KeyId = await createKey();
    await call('CreateGrant', { KeyId, GranteePrincipal: APP.arn, Operations: ['Encrypt'] });
    await addOtherGrants(KeyId, 0, 5000);
    store.listed = 0;
    await call('Encrypt', { KeyId, Plaintext: Buffer.from('x') }, APP);
    assert.equal(store.listed, 1, 'one grant entry read to authorize, of 5001 on the key');
    store.listed = 0;
    const { Grants } = (await call('ListGrants', { KeyId, GranteePrincipal: APP.arn })) as { Grants: unknown[] };
    assert.equal(Grants.length, 1);
    assert.equal(store.listed, 1);
  });

  it(`refuses grant ${GRANTS_PER_KEY + 1} on a key with LimitExceededException, and frees a place when a grant is revoked`, async () => {
    const KeyId = await createKey();
    const { GrantId } = (await call('CreateGrant', { KeyId, GranteePrincipal: APP.arn, Operations: ['Encrypt'] })) as { GrantId: string };
    await addOtherGrants(KeyId, 1, GRANTS_PER_KEY);
    const another: CreateGrantRequest = { KeyId, GranteePrincipal: APP.arn, Operations: ['Decrypt'] };
    await assert.rejects(call('CreateGrant', another), {
      name: 'LimitExceededException',
      message: `arn:aws:kms:us-east-1:${TEST_ACCOUNT}:key/${KeyId} has reached the limit of ${GRANTS_PER_KEY} grants.`,
    });
    await call('RevokeGrant', { KeyId, GrantId });
    await call('CreateGrant', another);
    await assert.rejects(call('CreateGrant', another), { name: 'LimitExceededException' });
  });

  it('forgets the grants of a key when the key is deleted', async () => {
    const KeyId = await createKey();
    await call('CreateGrant', { KeyId, GranteePrincipal: APP.arn, Operations: ['Encrypt'] });
    await call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    const entriesOf = async () =>
      (await Promise.all(['grant/', 'grantee/', 'grant-count/'].map((prefix) => store.list(prefix)))).flat().filter((entry) => entry.key.includes(KeyId));
    assert.equal((await entriesOf()).length, 3);
    clock += 8 * DAY_MS;
    assert.equal(await service.sweep(), 1);
    assert.deepEqual(await entriesOf(), []);
  });

  it('indexes grants stored before the grantee index once, so they authorize their grantees again', async () => {
    const [first, second] = [await createKey(), await createKey()];
    await call('CreateGrant', { KeyId: first, GranteePrincipal: APP.arn, Operations: ['Encrypt'] });
    // What an earlier version left: grant records alone, without index entries, counts or mark.
    const legacy = (await store.list('grant/')).filter((entry) => [first, second].some((keyId) => entry.key.includes(keyId)));
    await store.transaction(async (tx) => {
      for (const entry of await tx.list('grantee/')) tx.delete(entry.key);
      for (const entry of await tx.list('grant-count/')) tx.delete(entry.key);
      for (const entry of await tx.list('meta/')) tx.delete(entry.key);
      for (let n = 0; n < 1500; n++) tx.put(`grant/${second}/${otherGrant(second, n).grantId}`, JSON.stringify(otherGrant(second, n)));
    });
    await assert.rejects(call('Encrypt', { KeyId: first, Plaintext: Buffer.from('x') }, APP), { name: 'AccessDeniedException' });
    const total = (await store.list('grant/')).length;
    assert.equal(await indexStoredGrants(store), total);
    assert.ok(legacy.length >= 1 && total >= 1501);
    await call('Encrypt', { KeyId: first, Plaintext: Buffer.from('x') }, APP);
    assert.equal(await store.get(`grant-count/${second}`), '1500');
    assert.equal(await indexStoredGrants(store), 0, 'a second start indexes nothing');
  });
});
