import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { freshSchema, requirePostgres, type TestSchema } from '../../test/e2e/postgres-harness.ts';
import { PostgresStore, SqliteStore, StoreUnavailableError, type Store } from '../store/index.ts';
import { AUDIT_KEYS, indexedBatch } from './audit-chain.ts';
import type { AuditEvent } from './audit-event.ts';
import type { AuditedRequest } from './audit-sources.ts';
import { AuditTrail } from './audit-trail.ts';
import { queryAuditEvents } from './query-audit-events.ts';
import { verifyAuditChain } from './verify-audit-chain.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const log = pino({ level: 'silent' });

function identity() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signer: { sign: (data: Buffer) => sign('sha256', data, privateKey).toString('base64') },
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

const caller = { accessKeyId: 'AKIACONCORDTEST0001', principal: `arn:aws:iam::${ACCOUNT}:user/alice`, secretAccessKey: 'never-in-the-trail' };

function request(overrides: Partial<AuditedRequest> = {}): AuditedRequest {
  return {
    surface: 'kms',
    eventName: 'Encrypt',
    caller,
    input: { KeyId: KEY_ID, Plaintext: Buffer.from('secret plaintext'), EncryptionContext: { Purpose: 'test' } },
    output: { KeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`, CiphertextBlob: Buffer.from('ciphertext') },
    route: 'POST /',
    headers: { 'user-agent': 'test' },
    status: 200,
    sourceIp: '127.0.0.1',
    requestId: 'req-1',
    time: Date.now(),
    ...overrides,
  };
}

async function openTrail(store: Store, options: { retentionDays?: number; signer?: { sign(data: Buffer): string } } = {}): Promise<AuditTrail> {
  return AuditTrail.open({
    store,
    scope: { region: REGION, account: ACCOUNT },
    signer: options.signer,
    log,
    signIntervalMs: 3_600_000,
    retentionDays: options.retentionDays ?? 365,
  });
}

async function all(store: Store, query = {}): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for await (const event of queryAuditEvents(store, query)) events.push(event);
  return events;
}

describe('AuditTrail', () => {
  it("writes a busy second's events in transactions of at most 1024, as one chain", async () => {
    const store = new SqliteStore(':memory:');
    const trail = await openTrail(store);
    for (let i = 0; i < 2500; i += 1) assert.equal(trail.record(request({ requestId: `req-${i}` })), undefined);
    await trail.flush();
    const batches = (await store.list(`${AUDIT_KEYS.timeIndex}/`)).map(indexedBatch);
    assert.ok(batches.length >= 3);
    for (const { firstSeq, lastSeq } of batches) assert.ok(lastSeq - firstSeq < 1024);
    assert.deepEqual(
      (await all(store)).map((e) => e.requestID),
      Array.from({ length: 2500 }, (_, i) => `req-${i}`),
    );
    assert.equal((await verifyAuditChain(store, { region: REGION })).ok, true);
    await trail.close();
    await store.close();
  });

  it('answers a successful change only once its event is in the store, and keeps reads for the next flush', async () => {
    const store = new SqliteStore(':memory:');
    const trail = await openTrail(store);
    assert.equal(trail.record(request()), undefined);
    assert.equal((await all(store)).length, 0);
    const written = trail.record(request({ eventName: 'CreateKey', input: { Description: 'd' }, output: { KeyMetadata: { KeyId: KEY_ID } } }));
    assert.ok(written);
    await written;
    // The change's write took the buffered read with it, in order.
    assert.deepEqual(
      (await all(store)).map((e) => e.eventName),
      ['Encrypt', 'CreateKey'],
    );
    await trail.close();
    await store.close();
  });

  it('keeps the events of a write the store refused, and writes them first, in order, once it takes writes again', async () => {
    const store = new SqliteStore(':memory:');
    let down = false;
    // The store as the trail sees it while its disk is gone: reads work, transactions fail.
    const flaky: Store = {
      kind: store.kind,
      get: (key) => store.get(key),
      list: (prefix, options) => store.list(prefix, options),
      transaction: (work) => (down ? Promise.reject(new StoreUnavailableError(new Error('disk gone'))) : store.transaction(work)),
      runExclusive: (name, work) => store.runExclusive(name, work),
      now: () => store.now(),
      close: () => store.close(),
    };
    const trail = await openTrail(flaky);
    for (let i = 0; i < 3; i += 1) assert.equal(trail.record(request({ requestId: `before-${i}` })), undefined);
    down = true;
    await assert.rejects(trail.flush(), StoreUnavailableError);
    assert.equal(trail.record(request({ requestId: 'during' })), undefined);
    await assert.rejects(trail.record(request({ eventName: 'TagResource', requestId: 'change', input: { KeyId: KEY_ID } }))!, StoreUnavailableError);
    down = false;
    assert.equal(trail.record(request({ requestId: 'after' })), undefined);
    await trail.flush();
    assert.deepEqual(
      (await all(store)).map((e) => e.requestID),
      ['before-0', 'before-1', 'before-2', 'during', 'change', 'after'],
    );
    assert.equal((await verifyAuditChain(store, { region: REGION })).ok, true);
    await trail.close();
    await store.close();
  });

  it('keeps refused changes for the next flush: they acknowledged nothing', async () => {
    const store = new SqliteStore(':memory:');
    const trail = await openTrail(store);
    assert.equal(trail.record(request({ eventName: 'CreateKey', status: 400, errorCode: 'AccessDeniedException' })), undefined);
    await trail.flush();
    const [event] = await all(store);
    assert.equal(event?.errorCode, 'AccessDeniedException');
    assert.equal(event.responseElements, null);
    await trail.close();
    await store.close();
  });

  it('writes no plaintext, ciphertext or secret access key into the store', async () => {
    const store = new SqliteStore(':memory:');
    const trail = await openTrail(store);
    void trail.record(request());
    await trail.flush();
    const stored = (await store.list('audit/event/')).map((e) => e.value).join('\n');
    assert.ok(stored.includes('"Purpose":"test"'), 'the encryption context is kept, as CloudTrail keeps it');
    for (const secret of ['secret plaintext', Buffer.from('secret plaintext').toString('base64'), 'ciphertext', 'never-in-the-trail']) {
      assert.ok(!stored.includes(secret), secret);
    }
    await trail.close();
    await store.close();
  });

  it('builds a chain that verifies against the signed heads, across batches and a reopened trail', async () => {
    const store = new SqliteStore(':memory:');
    const { signer, publicKey } = identity();
    let trail = await openTrail(store, { signer });
    for (let i = 0; i < 5; i += 1) void trail.record(request({ requestId: `r${i}` }));
    await trail.flush();
    await trail.signHead();
    void trail.record(request({ eventName: 'Decrypt' }));
    await trail.close();
    trail = await openTrail(store, { signer });
    await trail.record(request({ eventName: 'DisableKey', input: { KeyId: KEY_ID }, output: {} }));
    await trail.close();
    const report = await verifyAuditChain(store, { region: REGION, publicKey });
    assert.deepEqual(
      { ok: report.ok, events: report.events, lastSeq: report.lastSeq, signedHeads: report.signedHeads, signaturesChecked: report.signaturesChecked },
      { ok: true, events: 7, lastSeq: 7, signedHeads: 3, signaturesChecked: true },
    );
    assert.equal((await verifyAuditChain(store, { region: REGION, publicKey: identity().publicKey })).ok, false, "another region's key");
    await store.close();
  });

  it('finds events by key ID or ARN, principal, operation and time', async () => {
    const store = new SqliteStore(':memory:');
    const trail = await openTrail(store);
    const other = 'ffffffff-12ab-34cd-56ef-1234567890ab';
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    void trail.record(request({ time: t0 }));
    void trail.record(request({ time: t0 + 1000, eventName: 'Decrypt', input: {}, output: { KeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${other}` } }));
    void trail.record(
      request({
        time: t0 + 2000,
        caller: {
          accessKeyId: 'ASIASESSION00000001',
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/s1`,
          session: { roleArn: `arn:aws:iam::${ACCOUNT}:role/app` },
        },
      }),
    );
    await trail.flush();
    assert.equal((await all(store, { key: KEY_ID })).length, 2);
    assert.equal((await all(store, { key: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${other}` })).length, 1);
    assert.equal((await all(store, { principal: `arn:aws:iam::${ACCOUNT}:role/app` })).length, 1);
    assert.equal((await all(store, { principal: caller.principal })).length, 2);
    assert.equal((await all(store, { eventName: 'Decrypt' })).length, 1);
    assert.deepEqual(
      (await all(store, { since: t0 + 1000, until: t0 + 1000 })).map((e) => e.eventName),
      ['Decrypt'],
    );
    assert.equal((await all(store, { limit: 2 })).length, 2);
    await trail.close();
    await store.close();
  });

  it('purges events past the retention behind a signed checkpoint, and the rest still verifies', async () => {
    const store = new SqliteStore(':memory:');
    const { signer, publicKey } = identity();
    const trail = await openTrail(store, { retentionDays: 30, signer });
    const old = Date.now() - 40 * 86_400_000;
    for (let i = 0; i < 3; i += 1) void trail.record(request({ time: old + i }));
    await trail.flush();
    await trail.signHead();
    void trail.record(request({ eventName: 'Decrypt' }));
    await trail.flush();
    assert.equal(await trail.purge(), 3);
    assert.equal(await trail.purge(), 0);
    assert.equal((await store.list(`${AUDIT_KEYS.timeIndex}/`)).length, 1);
    const report = await verifyAuditChain(store, { region: REGION, publicKey });
    assert.equal(report.ok, true, report.problem);
    assert.deepEqual([report.checkpoint, report.firstSeq, report.events], [3, 4, 1]);
    await trail.close();
    await store.close();
  });
});

const serverUrl = requirePostgres('the audit trail on PostgreSQL');
if (serverUrl) {
  describe('AuditTrail on PostgreSQL', () => {
    let schema: TestSchema;
    after(async () => schema.drop());

    it('keeps one chain when several nodes append at once', async () => {
      schema = await freshSchema(serverUrl);
      const nodes = await Promise.all([PostgresStore.open(schema.url), PostgresStore.open(schema.url), PostgresStore.open(schema.url)]);
      const trails = await Promise.all(nodes.map((node) => openTrail(node)));
      await Promise.all(
        trails.flatMap((trail, n) =>
          Array.from(
            { length: 20 },
            (_, i) => trail.record(request({ eventName: 'TagResource', requestId: `${n}-${i}`, input: { KeyId: KEY_ID } })) ?? assert.fail('a change waits'),
          ),
        ),
      );
      await Promise.all(trails.map((trail) => trail.close()));
      const report = await verifyAuditChain(nodes[0], { region: REGION });
      assert.equal(report.ok, true, report.problem);
      assert.equal(report.events, 60);
      await Promise.all(nodes.map((node) => node.close()));
    });
  });
}
