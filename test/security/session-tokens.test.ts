import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/index.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../e2e/harness.ts';
import { assumeRole, stsCall } from '../e2e/sts-request.ts';

const SESSION_TOKEN = 'FwoGZXIvYXdzEDoaDEXAMPLESESSIONTOKEN';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
/** Trusts the account root: users of the account whose identity policies allow it. */
const DELEGATED_ROLE = `arn:aws:iam::${ACCOUNT}:role/delegated`;
/** Trusts only another user. */
const CLOSED_ROLE = `arn:aws:iam::${ACCOUNT}:role/closed`;
const APP_USER = { arn: `arn:aws:iam::${ACCOUNT}:user/app`, accessKeyId: 'AKIASESSIONAPPUSER01', secretAccessKey: 'session-app-user-secret-access-key-1' };
const trust = (principal: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }] });
const PRINCIPALS = [
  { arn: APP_ROLE, trustPolicy: trust(ADMIN), identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] },
  { arn: DELEGATED_ROLE, trustPolicy: trust(`arn:aws:iam::${ACCOUNT}:root`) },
  { arn: CLOSED_ROLE, trustPolicy: trust(APP_USER.arn) },
  { ...APP_USER, identityPolicies: [] },
];

interface Signed {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  service: string;
  sessionToken?: string;
  /** Headers sent but left out of the signature. */
  unsigned?: Record<string, string>;
}

describe('temporary credentials and unsigned operation names', () => {
  let dev: DevDeployment;

  before(async () => {
    const principalsFile = join(mkdtempSync(join(tmpdir(), 'concord-session-tokens-')), 'principals.yaml');
    writeFileSync(principalsFile, JSON.stringify(PRINCIPALS));
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--principals-file', principalsFile] });
  });
  after(async () => {
    await dev.stop();
  });

  /** A request signed by the administrator's access key with @smithy/signature-v4, as the AWS SDK signs. */
  async function send({
    method,
    path,
    query = {},
    headers = {},
    body,
    service,
    sessionToken,
    unsigned = {},
  }: Signed): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = new URL(path, dev.endpoint());
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const signer = new SignatureV4({
      service,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...(sessionToken !== undefined ? { sessionToken } : {}) },
      sha256: NodeSha256,
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: { host: url.host, ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const { host: _host, ...sent } = { ...signed.headers, ...unsigned };
    const response = await fetch(url, { method, headers: sent, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  const kmsCall = (operation: string, body: object, options: Partial<Signed> = {}) =>
    send({
      method: 'POST',
      path: '/',
      service: 'kms',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      ...options,
    });

  it('refuses the AWS SDK signing with a session token Concord did not issue on the KMS API', async () => {
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint: dev.endpoint(),
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: SESSION_TOKEN },
      maxAttempts: 1,
    });
    await assert.rejects(client.send(new ListKeysCommand({})), { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
    await assert.rejects(client.send(new CreateKeyCommand({})), { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
    // The same access key without a token is served.
    assert.ok((await dev.client().send(new ListKeysCommand({}))).Keys);
  });

  it('refuses a session token carried in the query string of a KMS request', async () => {
    const answer = await kmsCall('ListKeys', {}, { query: { 'X-Amz-Security-Token': SESSION_TOKEN } });
    assert.deepEqual([answer.status, answer.json.__type, answer.json.message], [400, 'UnrecognizedClientException', INVALID_TOKEN]);
  });

  it('refuses a session token Concord did not issue on the management API /mgmt/v1', async () => {
    const units = (sessionToken?: string) =>
      send({ method: 'GET', path: '/mgmt/v1/units', service: 'concord-mgmt', ...(sessionToken !== undefined ? { sessionToken } : {}) });
    assert.equal((await units()).status, 200);
    const answer = await units(SESSION_TOKEN);
    assert.deepEqual([answer.status, answer.json.error, answer.json.message], [401, 'UnrecognizedClientException', INVALID_TOKEN]);
  });

  it('refuses a request whose X-Amz-Target is not signed, so a signed request cannot be replayed as another operation', async () => {
    const kms = dev.client();
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Signed as if for DescribeKey without naming the operation, then sent as ScheduleKeyDeletion with the same body.
    const answer = await send({
      method: 'POST',
      path: '/',
      service: 'kms',
      body: JSON.stringify({ KeyId }),
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      unsigned: { 'x-amz-target': 'TrentService.ScheduleKeyDeletion' },
    });
    assert.deepEqual([answer.status, answer.json.__type, answer.json.message], [400, 'InvalidSignatureException', "'X-Amz-Target' must be a signed header."]);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState, 'Enabled');
  });

  const kmsWith = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) =>
    new KMSClient({ region: 'us-east-1', endpoint: dev.endpoint(), credentials, maxAttempts: 1 });

  it('refuses a session token presented with another access key ID: a session key, a long-term key, a made-up one', async () => {
    const first = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'first' });
    const second = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'second' });
    assert.ok((await kmsWith(first).send(new ListKeysCommand({}))).Keys);
    const swaps = [
      { ...second, sessionToken: first.sessionToken },
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: first.sessionToken },
      { ...first, accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' },
      { ...first, accessKeyId: 'ASIA..key..AAAAAAAAAAAA' },
    ];
    for (const credentials of swaps) {
      await assert.rejects(
        kmsWith(credentials).send(new ListKeysCommand({})),
        { name: 'UnrecognizedClientException', message: INVALID_TOKEN },
        credentials.accessKeyId,
      );
      assert.equal((await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' }, credentials)).field('Code'), 'InvalidClientTokenId');
    }
    // Without its token, a session's access key is not a key.
    const answer = await kmsCall('ListKeys', {}, {});
    assert.equal(answer.status, 200);
    await assert.rejects(
      new KMSClient({
        region: 'us-east-1',
        endpoint: dev.endpoint(),
        credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
        maxAttempts: 1,
      }).send(new ListKeysCommand({})),
      { name: 'UnrecognizedClientException' },
    );
  });

  it('refuses a tampered session token, and a wrong secret with the right token', async () => {
    const session = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'tampered' });
    const token = session.sessionToken;
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    for (const sessionToken of [flipped, token.slice(0, -4), `${token}AAAA`, '']) {
      await assert.rejects(kmsWith({ ...session, sessionToken }).send(new ListKeysCommand({})), { name: 'UnrecognizedClientException' });
    }
    await assert.rejects(kmsWith({ ...session, secretAccessKey: SECRET_ACCESS_KEY }).send(new ListKeysCommand({})), { name: 'InvalidSignatureException' });
    assert.ok((await kmsWith(session).send(new ListKeysCommand({}))).Keys);
  });

  it('refuses AssumeRole of a role whose trust policy does not allow the caller, or that does not exist', async () => {
    const refusals: [string, { accessKeyId: string; secretAccessKey: string } | undefined, string][] = [
      // The trust policy names another user.
      [
        CLOSED_ROLE,
        undefined,
        `User: ${ADMIN} is not authorized to perform: sts:AssumeRole on resource: ${CLOSED_ROLE} because no resource-based policy allows the sts:AssumeRole action`,
      ],
      // The trust policy names the account, and the caller's identity policies do not allow sts:AssumeRole.
      [
        DELEGATED_ROLE,
        APP_USER,
        `User: ${APP_USER.arn} is not authorized to perform: sts:AssumeRole on resource: ${DELEGATED_ROLE} because no identity-based policy allows the sts:AssumeRole action`,
      ],
      [
        `arn:aws:iam::${ACCOUNT}:role/missing`,
        undefined,
        `User: ${ADMIN} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${ACCOUNT}:role/missing because no resource-based policy allows the sts:AssumeRole action`,
      ],
    ];
    for (const [RoleArn, credentials, message] of refusals) {
      const answer = await stsCall(dev.endpoint(), { Action: 'AssumeRole', RoleArn, RoleSessionName: 'intruder' }, credentials);
      assert.deepEqual([answer.status, answer.field('Code'), answer.field('Message')], [403, 'AccessDenied', message]);
    }
    // The same user may assume the role that trusts it by name; the admin, whose identity policy allows sts:*, the delegating one.
    assert.match((await assumeRole(dev.endpoint(), { RoleArn: CLOSED_ROLE }, APP_USER)).arn, /assumed-role\/closed\/test$/);
    assert.match((await assumeRole(dev.endpoint(), { RoleArn: DELEGATED_ROLE })).arn, /assumed-role\/delegated\/test$/);
  });

  it('refuses a session whose record was changed in the store: the secret is bound to the principal and the expiration', async () => {
    const session = await assumeRole(dev.endpoint(), { RoleArn: DELEGATED_ROLE, RoleSessionName: 'escalate' });
    const later = await assumeRole(dev.endpoint(), { RoleArn: DELEGATED_ROLE, RoleSessionName: 'prolong' });
    await dev.stop();
    const store = new SqliteStore(join(dev.dataDir, 'us-east-1', 'keys.db'));
    try {
      await store.transaction(async (tx) => {
        const change = async (accessKeyId: string, fields: Record<string, unknown>) => {
          const path = `sts/session/${accessKeyId}`;
          tx.put(path, JSON.stringify({ ...JSON.parse((await tx.get(path))!), ...fields }));
        };
        // A store that could name a more powerful role, or make a session last longer, gains nothing.
        await change(session.accessKeyId, { roleArn: APP_ROLE, principal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/escalate` });
        await change(later.accessKeyId, { expiration: Date.now() + 365 * 24 * 3600 * 1000 });
      });
    } finally {
      await store.close();
    }
    await dev.restart();
    for (const credentials of [session, later]) {
      await assert.rejects(kmsWith(credentials).send(new ListKeysCommand({})), { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
    }
  });
});
