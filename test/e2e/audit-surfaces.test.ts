import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudHSMV2Client, DescribeClustersCommand } from '@aws-sdk/client-cloudhsm-v2';
import type { AuditEvent } from '../../src/audit/index.ts';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { auditQuery, auditVerify } from './audit-cli.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, freePorts } from './harness.ts';
import { Clusters, shell } from './hsm-shells.ts';
import { startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';
import { selfInitialisingUnits } from './tke-harness.ts';

const REGION = 'us-east-1';
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/audited-admin`;
const APIKEY = 'audit-surfaces-test-api-key-000000000000001';
const PLAINTEXT = Buffer.from('audit-surfaces plaintext that must never be in the trail').toString('base64');
/** HSM user passwords: the officer's, alice's first and second, and one tried wrong. */
const OFFICER = 'officer-audit-1';
const ALICE = 'alice-audit-1';
const ALICE_NEW = 'alice-audit-2';
const WRONG = 'alice-wrong-9';

describe('the audit trail of the Key Protect, UKO, IAM token, CloudHSM and HSM shell surfaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-audit-surfaces-'));
  let config: string;
  let server: ChildProcess;
  let token: string;
  let keyId: string;
  let events: AuditEvent[];
  let clusterId: string;
  let hsmId: string;
  const bySource = (source: string) => events.filter((e) => e.eventSource === source);

  before(async () => {
    const port = await freePorts(1);
    config = writeRegionConfig(dir, REGION, port, {
      ...selfInitialisingUnits(dir, REGION),
      logLevel: 'warn',
      principals: [{ arn: ADMIN, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:*', 'uko:*'], Resource: '*' }] }] }],
      apiKeys: [{ apikey: APIKEY, principal: ADMIN }],
    });
    const endpoint = `http://127.0.0.1:${port}`;
    server = await startServerProcess(config, endpoint);

    const tokenAnswer = await fetch(`${endpoint}/identity/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: APIKEY }),
    });
    assert.equal(tokenAnswer.status, 200);
    token = ((await tokenAnswer.json()) as { access_token: string }).access_token;
    const refusedToken = await fetch(`${endpoint}/identity/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: 'not-an-api-key-of-this-region' }),
    });
    assert.equal(refusedToken.status, 400);

    const kp = (path: string, body: unknown, authorization = `Bearer ${token}`) =>
      fetch(`${endpoint}/api/v2${path}`, {
        method: 'POST',
        headers: { authorization, 'bluemix-instance': instanceIdOf(ACCOUNT, REGION), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = await kp('/keys', { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 }, resources: [{ name: 'root' }] });
    assert.equal(created.status, 201);
    keyId = ((await created.json()) as { resources: [{ id: string }] }).resources[0].id;
    assert.equal((await kp(`/keys/${keyId}/actions/wrap`, { plaintext: PLAINTEXT })).status, 200);
    assert.equal((await kp(`/keys/${keyId}/actions/wrap`, { plaintext: PLAINTEXT }, 'Bearer not-a-token')).status, 401);

    const vault = await fetch(`${endpoint}/api/v4/vaults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'audited vault', description: 'audited' }),
    });
    assert.equal(vault.status, 201);

    const hsm = new CloudHSMV2Client({
      region: REGION,
      endpoint,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    await hsm.send(new DescribeClustersCommand({ MaxResults: 5 }));

    // The HSM shells: activation (hsm-mgmt), a wrong password, a password reset, a key made and deleted (hsm-keys).
    const clusters = new Clusters({ endpoint: () => endpoint }, dir);
    const activated = await clusters.activated(REGION, [`${REGION}a`], OFFICER, [['alice', ALICE]]);
    clusterId = activated.clusterId;
    hsmId = (await clusters.describe(REGION, clusterId)).Hsms![0]!.HsmId!;
    const mgmt = await shell('hsm-mgmt', activated.conf, [
      `loginHSM CU alice ${WRONG}`,
      `loginHSM CO admin ${OFFICER}`,
      `changePswd CU alice ${ALICE_NEW}`,
      'y',
      'quit',
    ]);
    assert.ok(mgmt.stdout.includes('changePswd success'), mgmt.stdout + mgmt.stderr);
    const keys = await shell('hsm-keys', activated.conf, [
      `loginHSM -u CU -s alice -p ${ALICE_NEW}`,
      'genSymKey -t 31 -s 32 -l audited-key',
      'deleteKey -k 1',
      'exit',
    ]);
    assert.ok(keys.stdout.includes('Key Handle: 1'), keys.stdout + keys.stderr);
    // A clean stop writes what is buffered and signs the head.
    await stopProcess(server, 'SIGTERM');
    events = auditQuery(config);
  });
  after(async () => {
    await stopProcess(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a token request with the API key’s ID and principal, and a refused one as Unknown', () => {
    const [issued, refused] = bySource('iam.concord');
    assert.equal(issued?.eventName, 'GetToken');
    assert.equal(issued.userIdentity.arn, ADMIN);
    assert.match(issued.userIdentity.accessKeyId ?? '', /^ApiKey-/i);
    assert.deepEqual(issued.requestParameters, { grant_type: 'urn:ibm:params:oauth:grant-type:apikey' });
    assert.equal(refused?.eventName, 'GetToken');
    assert.ok(refused.errorCode !== undefined);
    assert.deepEqual(refused.userIdentity, { type: 'Unknown' });
  });

  it('records Key Protect calls by their action, the bearer token’s principal, and the root key as a KMS key', () => {
    const kp = bySource('keyprotect.concord');
    assert.deepEqual(
      kp.map((e) => [e.eventName, e.errorCode, e.userIdentity.arn]),
      [
        ['CreateKey', undefined, ADMIN],
        ['wrap', undefined, ADMIN],
        ['POST /api/v2/keys/:id/actions/:action', 'UNAUTHORIZED_ERR', undefined],
      ],
    );
    const wrap = kp[1]!;
    assert.equal(wrap.readOnly, true);
    assert.deepEqual(wrap.requestParameters, { id: keyId });
    assert.deepEqual(wrap.resources, [{ ARN: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);
  });

  it('records a UKO vault creation with the vault’s ID', () => {
    const [vault] = bySource('uko.concord');
    assert.equal(vault?.eventName, 'CreateVault');
    assert.equal(vault.userIdentity.arn, ADMIN);
    assert.equal(vault.readOnly, false);
    assert.match(String(vault.responseElements?.id), /^[0-9a-f-]{36}$/);
  });

  it('records a CloudHSM call by its operation, as CloudTrail names the service', () => {
    const [describe] = bySource('cloudhsm.amazonaws.com');
    assert.equal(describe?.eventName, 'DescribeClusters');
    assert.equal(describe.userIdentity.type, 'Root');
    assert.deepEqual(describe.requestParameters, { maxResults: 5 });
    assert.equal(describe.readOnly, true);
  });

  it('records the HSM shells’ commands by the HSM user who ran them, with the HSM audit log’s opcode, the cluster and HSM as resources', () => {
    const hsm = bySource('hsm.concord');
    const cluster = `arn:aws:cloudhsm:${REGION}:${ACCOUNT}:cluster/${clusterId}`;
    const user = (name: string) => `${cluster}/user/${name}`;
    const changes = hsm.filter((e) => !e.readOnly);
    assert.deepEqual(
      changes.map((e) => [e.eventName, e.additionalEventData?.opcode, e.userIdentity.userName, e.userIdentity.hsmUserType, e.errorCode]),
      [
        ['login', 'CN_LOGIN', 'admin', 'PRECO', undefined],
        ['changePswd', 'CN_CHANGE_PSWD', 'admin', 'PRECO', undefined],
        ['createUser', 'CN_CREATE_USER', 'admin', 'PCO', undefined],
        ['login', 'CN_LOGIN', 'alice', 'CU', 'LoginFailed'],
        ['login', 'CN_LOGIN', 'admin', 'PCO', undefined],
        ['changePswd', 'CN_CHANGE_PSWD', 'admin', 'PCO', undefined],
        ['login', 'CN_LOGIN', 'alice', 'CU', undefined],
        ['genSymKey', 'CN_GENERATE_KEY', 'alice', 'CU', undefined],
        ['deleteKey', 'CN_DESTROY_OBJECT', 'alice', 'CU', undefined],
      ],
    );
    const created = changes.find((e) => e.eventName === 'createUser')!;
    assert.deepEqual(created.requestParameters, { hsm: hsmId, name: 'alice', type: 'CU' });
    assert.deepEqual(created.responseElements, { userId: 2 });
    assert.deepEqual(created.userIdentity, {
      accountId: ACCOUNT,
      arn: user('admin'),
      clusterId,
      hsmId,
      hsmUserType: 'PCO',
      principalId: '1',
      type: 'HSMUser',
      userName: 'admin',
    });
    assert.deepEqual(
      created.resources?.map((r) => [r.ARN, r.type]),
      [
        [cluster, 'AWS::CloudHSM::Cluster'],
        [`${cluster}/hsm/${hsmId}`, 'AWS::CloudHSM::Hsm'],
      ],
    );
    const refused = changes.find((e) => e.errorCode === 'LoginFailed')!;
    assert.equal(refused.errorMessage, 'invalid password');
    const made = changes.find((e) => e.eventName === 'genSymKey')!;
    assert.deepEqual([made.requestParameters, made.responseElements], [{ hsm: hsmId, keyType: 31, label: 'audited-key', size: 32 }, { handle: 1 }]);
    // concord audit query finds alice's events by her ARN, a failed login against her included, and the creations by name.
    const alices = auditQuery(config, ['--principal', user('alice')]);
    assert.deepEqual(
      alices.map((e) => e.eventName),
      ['login', 'login', 'genSymKey', 'deleteKey'],
    );
    assert.deepEqual(
      auditQuery(config, ['--event', 'createUser']).map((e) => e.requestID),
      [created.requestID],
    );
  });

  it('keeps no plaintext, API key, token, body secret or HSM user password in the store file, and the chain verifies', () => {
    for (const file of readdirSync(join(dir, REGION)).filter((name) => name.startsWith('keys.db'))) {
      const bytes = readFileSync(join(dir, REGION, file));
      for (const secret of [PLAINTEXT, APIKEY, token, token.split('.')[1]!, OFFICER, ALICE, ALICE_NEW, WRONG]) {
        assert.ok(!bytes.includes(secret), `${file} holds a secret`);
      }
    }
    const { status, report } = auditVerify(config);
    assert.equal(status, 0);
    assert.equal(report.ok, true);
  });
});
