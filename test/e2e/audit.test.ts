import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  KMSClient,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { auditQuery, auditVerify } from './audit-cli.ts';
import { ACCOUNT, BIN, freePorts } from './harness.ts';
import { mgmtRequest } from './mgmt-request.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';
import { stsCall } from './sts-request.ts';
import { selfInitialisingUnits } from './tke-harness.ts';

const REGION = 'us-east-1';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const PLAINTEXT = 'audit-e2e plaintext that must never be in the trail';

describe('the audit trail through the AWS SDK and concord audit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-audit-'));
  let config: string;
  let server: ChildProcess;
  let keyId: string;
  let keyArn: string;
  let publicKey: string;

  before(async () => {
    const port = await freePorts(1);
    config = writeRegionConfig(dir, REGION, port, { ...selfInitialisingUnits(dir, REGION), logLevel: 'warn', audit: { signIntervalSeconds: 1 } });
    publicKey = execFileSync(process.execPath, [BIN, 'identity', '--config', config], { encoding: 'utf8' }).trim();
    const endpoint = `http://127.0.0.1:${port}`;
    server = await startServerProcess(config, endpoint);
    const kms = regionClient(REGION, endpoint);
    const metadata = (await kms.send(new CreateKeyCommand({ Description: 'audited' }))).KeyMetadata!;
    keyId = metadata.KeyId!;
    keyArn = metadata.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/audited', TargetKeyId: keyId }));
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: 'alias/audited', Plaintext: Buffer.from(PLAINTEXT), EncryptionContext: { app: 'e2e' } }),
    );
    await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { app: 'e2e' } }));
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }] });
    await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const stranger = new KMSClient({
      region: REGION,
      endpoint,
      credentials: { accessKeyId: 'AKIASTRANGER0000001', secretAccessKey: 'not-a-key-of-this-region' },
      maxAttempts: 1,
    });
    await assert.rejects(stranger.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), { name: 'UnrecognizedClientException' });
    assert.equal((await stsCall(endpoint, { Action: 'GetCallerIdentity' })).status, 200);
    assert.equal((await mgmtRequest(endpoint, REGION, 'GET', '/units')).status, 200);
    assert.equal((await mgmtRequest(endpoint, REGION, 'GET', '/units/no-such-unit', undefined, { secret: 'wrong-secret-access-key' })).status, 403);
    // A clean stop writes what is buffered and signs the head.
    await stopProcess(server, 'SIGTERM');
  });
  after(async () => {
    await stopProcess(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('records each call as a CloudTrail record, the resolved key as its resource, and no plaintext or ciphertext', () => {
    const events = auditQuery(config, ['--key', keyId]);
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['CreateKey', 'CreateAlias', 'Encrypt', 'Decrypt', 'PutKeyPolicy', 'ScheduleKeyDeletion'],
    );
    const encrypt = events[2]!;
    assert.equal(encrypt.eventSource, 'kms.amazonaws.com');
    assert.equal(encrypt.awsRegion, REGION);
    assert.equal(encrypt.readOnly, true);
    assert.equal(encrypt.responseElements, null);
    assert.deepEqual(encrypt.requestParameters, { keyId: 'alias/audited', encryptionContext: { app: 'e2e' } });
    assert.deepEqual(encrypt.resources, [{ ARN: keyArn, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);
    assert.equal(encrypt.userIdentity.type, 'Root');
    assert.equal(encrypt.userIdentity.arn, ROOT);
    assert.match(encrypt.userAgent, /aws-sdk-js/);
    assert.equal(events[0]!.responseElements?.keyMetadata && (events[0]!.responseElements.keyMetadata as { arn: string }).arn, keyArn);
    const all = JSON.stringify(auditQuery(config));
    assert.ok(!all.includes(PLAINTEXT) && !all.includes(Buffer.from(PLAINTEXT).toString('base64')), 'plaintext in the trail');
    assert.ok(!all.includes('concord-test-secret-access-key'), 'a secret access key in the trail');
  });

  it('records refused requests, naming the access key they claimed', () => {
    const [refused] = auditQuery(config, ['--event', 'Encrypt']).filter((e) => e.errorCode !== undefined);
    assert.equal(refused?.errorCode, 'UnrecognizedClientException');
    assert.deepEqual(refused.userIdentity, { type: 'Unknown', accessKeyId: 'AKIASTRANGER0000001' });
  });

  it('filters by principal, operation, time and count', () => {
    const sts = auditQuery(config, ['--event', 'GetCallerIdentity', '--principal', ROOT]);
    assert.equal(sts.length, 1);
    assert.equal(sts[0]!.eventSource, 'sts.amazonaws.com');
    assert.equal(auditQuery(config, ['--since', '1h', '--limit', '2']).length, 2);
    assert.equal(auditQuery(config, ['--until', '1h']).length, 0);
    assert.equal(auditQuery(config, ['--since', new Date(Date.now() + 60_000).toISOString()]).length, 0);
  });

  it('records management API calls by their concord: action, and those refused by the route they asked for', () => {
    const mgmt = auditQuery(config).filter((e) => e.eventSource === 'mgmt.concord');
    assert.deepEqual(
      mgmt.map((e) => [e.eventName, e.errorCode, e.readOnly]),
      [
        ['ListCryptoUnits', undefined, true],
        ['GET /mgmt/v1/units/:id', 'InvalidSignatureException', false],
      ],
    );
  });

  it("verifies the whole chain and its signed heads with the region's public identity key", () => {
    const { status, report } = auditVerify(config, ['--public-key', publicKey]);
    assert.equal(status, 0);
    assert.equal(report.ok, true);
    assert.equal(report.signaturesChecked, true);
    assert.ok(report.signedHeads >= 1);
    assert.ok(report.events >= 8);
  });
});
