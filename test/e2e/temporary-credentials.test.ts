import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { SqliteStore } from '../../src/store/index.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { isolatedAwsEnv } from './isolated-aws-env.ts';
import { mgmtRequest } from './mgmt-request.ts';
import { assumeRole, stsCall, type Credentials } from './sts-request.ts';

const run = promisify(execFile);
const REPO = new URL('../..', import.meta.url).pathname;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
const AUDIT_ROLE = `arn:aws:iam::${ACCOUNT}:role/audit`;
const trustAdmin = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ADMIN }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] };

/** app: assumable by the admin, may use KMS and list crypto units; audit: assumable by the admin, no permissions, sessions up to 2 hours. */
const PRINCIPALS = [
  {
    arn: APP_ROLE,
    trustPolicy: trustAdmin,
    identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'concord:ListCryptoUnits'], Resource: '*' }] }],
  },
  { arn: AUDIT_ROLE, trustPolicy: trustAdmin, maxSessionDuration: 7200 },
];

const kmsAs = (endpoint: string, credentials: Credentials, region = 'us-east-1') =>
  new KMSClient({ region, endpoint, credentials: credentials as Required<Credentials>, maxAttempts: 1 });

describe('temporary credentials (STS)', () => {
  let dev: DevDeployment;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-sts-'));
    writeFileSync(join(dir, 'principals.yaml'), JSON.stringify(PRINCIPALS));
    dev = await startDev({ regions: ['us-east-1', 'us-west-2'], extraArgs: ['--principals-file', join(dir, 'principals.yaml')] });
    // An AWS config file as users write it: a profile with long-term keys and one that assumes the role through it.
    writeFileSync(
      join(dir, 'config'),
      [
        '[profile base]',
        `aws_access_key_id = ${ACCESS_KEY_ID}`,
        `aws_secret_access_key = ${SECRET_ACCESS_KEY}`,
        'region = us-east-1',
        '',
        '[profile app]',
        `role_arn = ${APP_ROLE}`,
        'source_profile = base',
        'role_session_name = tooling',
        'region = us-east-1',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await dev.stop();
  });

  /** The environment of a tool run with the `app` profile, STS and KMS at the us-east-1 endpoint. */
  const profileEnv = (): NodeJS.ProcessEnv =>
    isolatedAwsEnv(dir, {
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_PROFILE: 'app',
      AWS_ENDPOINT_URL_STS: dev.endpoint(),
      AWS_ENDPOINT_URL_KMS: dev.endpoint(),
    });

  it('boto3 assumes the role through its profile (role_arn + source_profile) and uses KMS as the role', async () => {
    const script = [
      'import boto3, json',
      's = boto3.Session()',
      "kms = s.client('kms')",
      "key = kms.create_key()['KeyMetadata']['KeyId']",
      "blob = kms.encrypt(KeyId=key, Plaintext=b'from boto3')['CiphertextBlob']",
      "plain = kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode()",
      "print(json.dumps({'arn': s.client('sts').get_caller_identity()['Arn'], 'plain': plain}))",
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script], { env: profileEnv() });
    assert.deepEqual(JSON.parse(stdout), { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/tooling`, plain: 'from boto3' });
  });

  it("the JS SDK's default credential chain assumes the role through the profile and uses KMS as the role", async () => {
    const script = `
      import { KMSClient, CreateKeyCommand, EncryptCommand, DecryptCommand } from '@aws-sdk/client-kms';
      const kms = new KMSClient({});
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: KeyMetadata.KeyId, Plaintext: Buffer.from('from js') }));
      const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob }));
      const credentials = await kms.config.credentials();
      console.log(JSON.stringify({ accessKeyId: credentials.accessKeyId, session: credentials.sessionToken !== undefined, plain: Buffer.from(Plaintext).toString() }));
    `;
    const { stdout } = await run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { cwd: REPO, env: profileEnv() });
    const answer = JSON.parse(stdout) as { accessKeyId: string; session: boolean; plain: string };
    assert.match(answer.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.deepEqual([answer.session, answer.plain], [true, 'from js']);
    // The key was created by the role session: the request log names the session's access key.
    assert.match(dev.output(), new RegExp(`"operation":"CreateKey","accessKeyId":"${answer.accessKeyId}"`));
  });

  it('answers GetCallerIdentity, GetSessionToken and GetAccessKeyInfo as STS does', async () => {
    const identity = await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' });
    assert.equal(identity.status, 200);
    assert.match(identity.text, /^<GetCallerIdentityResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><GetCallerIdentityResult>/);
    assert.deepEqual([identity.field('Arn'), identity.field('Account')], [ADMIN, ACCOUNT]);
    assert.match(identity.field('UserId')!, /^AIDA[A-Z2-7]{17}$/);

    const token = await stsCall(dev.endpoint(), { Action: 'GetSessionToken', DurationSeconds: '900' });
    assert.equal(token.status, 200);
    const expiration = Date.parse(token.field('Expiration')!);
    assert.ok(Math.abs(expiration - Date.now() - 900_000) < 60_000);
    const session = { accessKeyId: token.field('AccessKeyId')!, secretAccessKey: token.field('SecretAccessKey')!, sessionToken: token.field('SessionToken')! };
    // GetSessionToken's credentials are the user itself, on every surface.
    assert.equal((await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' }, session)).field('Arn'), ADMIN);
    assert.ok((await kmsAs(dev.endpoint(), session).send(new ListKeysCommand({}))).Keys);
    assert.equal((await stsCall(dev.endpoint(), { Action: 'GetSessionToken' }, session)).field('Code'), 'AccessDenied');

    for (const accessKeyId of [ACCESS_KEY_ID, session.accessKeyId]) {
      const info = await stsCall(dev.endpoint(), { Action: 'GetAccessKeyInfo', AccessKeyId: accessKeyId });
      assert.deepEqual([info.status, info.field('Account')], [200, ACCOUNT]);
    }
  });

  it('a key policy and a grant naming the role cover its sessions', async () => {
    const admin = dev.client();
    const role = await assumeRole(dev.endpoint(), { RoleArn: AUDIT_ROLE, RoleSessionName: 'alice' });
    assert.equal(role.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/audit/alice`);
    const audit = kmsAs(dev.endpoint(), role);
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: AUDIT_ROLE }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    });
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({ Policy }));
    const KeyId = KeyMetadata!.KeyId!;
    const { CiphertextBlob } = await audit.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('audit') }));
    await assert.rejects(audit.send(new DecryptCommand({ CiphertextBlob })), {
      name: 'AccessDeniedException',
      message: new RegExp(`^User: arn:aws:sts::${ACCOUNT}:assumed-role/audit/alice is not authorized to perform: kms:Decrypt`),
    });
    await admin.send(new CreateGrantCommand({ KeyId, GranteePrincipal: AUDIT_ROLE, Operations: ['Decrypt'] }));
    assert.equal(Buffer.from((await audit.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'audit');
  });

  it('authenticates role sessions on the management API by the role identity policies', async () => {
    const app = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE });
    const audit = await assumeRole(dev.endpoint(), { RoleArn: AUDIT_ROLE });
    assert.equal((await mgmtRequest(dev.endpoint(), 'us-east-1', 'GET', '/units', undefined, { as: app })).status, 200);
    const refused = await mgmtRequest(dev.endpoint(), 'us-east-1', 'GET', '/units', undefined, { as: audit });
    assert.deepEqual([refused.status, refused.json.error], [403, 'AccessDeniedException']);
  });

  it('enforces DurationSeconds: the role maximum, and 900 to 43200', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [
        { RoleSessionName: 'x' },
        'ValidationError',
        "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
      ],
      [
        { RoleSessionName: 'bad name!' },
        'ValidationError',
        "1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
      ],
      [
        { DurationSeconds: '899' },
        'ValidationError',
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
      ],
      [
        { DurationSeconds: '43201' },
        'ValidationError',
        "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
      ],
      [{ DurationSeconds: 'soon' }, 'ValidationError', "Value 'soon' for parameter DurationSeconds is invalid: it must be an integer."],
      [{ DurationSeconds: '7200' }, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'],
      [
        { RoleArn: '' },
        'ValidationError',
        "1 validation error detected: Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
      ],
      [{ Policy: '{}' }, 'ValidationError', 'Concord does not support the Policy parameter.'],
      [
        { 'Tags.member.1.Key': 'team' },
        'ValidationError',
        "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null",
      ],
    ];
    for (const [change, code, message] of cases) {
      const answer = await stsCall(dev.endpoint(), { Action: 'AssumeRole', RoleArn: APP_ROLE, RoleSessionName: 'session', ...change });
      assert.deepEqual(
        [answer.status, answer.field('Type'), answer.field('Code'), answer.field('Message')],
        [400, 'Sender', code, message],
        JSON.stringify(change),
      );
      assert.match(
        answer.text,
        /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>[A-Za-z]+<\/Code><Message>[^<]*<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>/,
      );
    }
    const missing = await stsCall(dev.endpoint(), { Action: 'AssumeRole', RoleSessionName: 'session' });
    assert.deepEqual(
      [missing.status, missing.field('Code'), missing.field('Message')],
      [400, 'ValidationError', "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"],
    );
    assert.equal((await assumeRole(dev.endpoint(), { RoleArn: AUDIT_ROLE, DurationSeconds: '7200' })).arn, `arn:aws:sts::${ACCOUNT}:assumed-role/audit/test`);
  });

  it('answers an unknown action, a wrong version and a body that is not a form with STS errors, never a 500', async () => {
    const unknown = await stsCall(dev.endpoint(), { Action: 'AssumeRoleWithSAML' });
    assert.deepEqual(
      [unknown.status, unknown.field('Code'), unknown.field('Message')],
      [400, 'InvalidAction', 'Could not find operation AssumeRoleWithSAML for version 2011-06-15'],
    );
    const version = await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity', Version: '2010-01-01' });
    assert.deepEqual([version.status, version.field('Code')], [400, 'InvalidAction']);
    const noAction = await stsCall(dev.endpoint(), {});
    assert.deepEqual([noAction.status, noAction.field('Code')], [400, 'MissingAction']);
    const unsigned = await fetch(dev.endpoint(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '%%%&Action=%zz' });
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>MissingAuthenticationToken<\/Code>/);
  });

  it('a session is regional: another region does not know it', async () => {
    const session = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'regional' });
    await assert.rejects(kmsAs(dev.endpoint('us-west-2'), session, 'us-west-2').send(new ListKeysCommand({})), {
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
    const west = await assumeRole(dev.endpoint('us-west-2'), { RoleArn: APP_ROLE, RoleSessionName: 'west' }, undefined, 'us-west-2');
    assert.ok((await kmsAs(dev.endpoint('us-west-2'), west, 'us-west-2').send(new ListKeysCommand({}))).Keys);
  });

  it('sessions outlive a restart until they expire; then ExpiredTokenException; an unknown token is UnrecognizedClientException', async () => {
    const lasting = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'lasting' });
    const expiring = await assumeRole(dev.endpoint(), { RoleArn: APP_ROLE, RoleSessionName: 'expiring' });
    // DurationSeconds is at least 900: the session is moved into the past in the store, held by the stopped server.
    await dev.stop();
    const store = new SqliteStore(join(dev.dataDir, 'us-east-1', 'keys.db'));
    try {
      await store.transaction(async (tx) => {
        const path = `sts/session/${expiring.accessKeyId}`;
        const record = JSON.parse((await tx.get(path))!) as { expiration: number };
        tx.put(path, JSON.stringify({ ...record, expiration: Date.now() - 1000 }));
      });
    } finally {
      await store.close();
    }
    await dev.restart();

    assert.ok((await kmsAs(dev.endpoint(), lasting).send(new ListKeysCommand({}))).Keys);
    assert.equal((await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' }, lasting)).field('Arn'), `arn:aws:sts::${ACCOUNT}:assumed-role/app/lasting`);
    await assert.rejects(kmsAs(dev.endpoint(), expiring).send(new ListKeysCommand({})), {
      name: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
    });
    const sts = await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' }, expiring);
    assert.deepEqual(
      [sts.status, sts.field('Code'), sts.field('Message')],
      [400, 'ExpiredTokenException', 'The security token included in the request is expired'],
    );

    const unknown = { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40), sessionToken: 'FwoGZXIvYXdzEXAMPLE' };
    await assert.rejects(kmsAs(dev.endpoint(), unknown).send(new ListKeysCommand({})), {
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
    const refused = await stsCall(dev.endpoint(), { Action: 'GetCallerIdentity' }, unknown);
    assert.deepEqual([refused.status, refused.field('Code')], [403, 'InvalidClientTokenId']);
  });
});
