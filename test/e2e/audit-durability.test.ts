import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  TagResourceCommand,
  UpdateKeyDescriptionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { auditQuery, auditVerify } from './audit-cli.ts';
import { eventually } from './eventually.ts';
import { freePorts } from './harness.ts';
import { Clusters } from './hsm-shells.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';
import { selfInitialisingUnits } from './tke-harness.ts';

const REGION = 'us-east-1';
const LOOPS = 4;
const MANAGEMENT_CALLS = 12;
const ENCRYPTS = 50;

/** The chain head after each append the server logged (at debug level). */
const appendedHeads = (log: string): number[] =>
  log
    .split('\n')
    .filter((line) => line.includes('"audit events appended"'))
    .map((line) => (JSON.parse(line) as { seq: number }).seq);

describe('audit trail durability under SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-audit-kill-'));
  let config: string;
  let endpoint: string;
  let server: ChildProcess;
  let log = '';
  const start = async (): Promise<KMSClient> => {
    log = '';
    server = await startServerProcess(config, endpoint, (chunk) => (log += chunk));
    return regionClient(REGION, endpoint);
  };

  before(async () => {
    const port = await freePorts(1);
    endpoint = `http://127.0.0.1:${port}`;
    config = writeRegionConfig(dir, REGION, port, { ...selfInitialisingUnits(dir, REGION), logLevel: 'debug' });
  });
  after(async () => {
    await stopProcess(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the event of every acknowledged management call when killed with SIGKILL during cryptographic load', async (t) => {
    const kms = await start();
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    let killed = false;
    const killedYet = (): boolean => killed;
    const load = async (): Promise<void> => {
      while (!killedYet()) {
        try {
          await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('load') }));
        } catch (error) {
          if (!killedYet()) throw error;
        }
      }
    };
    const loops = Promise.all(Array.from({ length: LOOPS }, load));
    const calls = [
      () => kms.send(new CreateKeyCommand({ Description: 'made under load' })),
      () => kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] })),
      () => kms.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: 'changed under load' })),
      () => kms.send(new EnableKeyRotationCommand({ KeyId: keyId })),
      () => kms.send(new DisableKeyRotationCommand({ KeyId: keyId })),
    ];
    const acknowledged: string[] = [];
    for (let i = 0; i < MANAGEMENT_CALLS; i += 1) acknowledged.push((await calls[i % calls.length]!()).$metadata.requestId!);
    acknowledged.push((await kms.send(new CreateAliasCommand({ AliasName: 'alias/last-before-kill', TargetKeyId: keyId }))).$metadata.requestId!);
    // No pause: the kill follows the last acknowledgement at once.
    killed = true;
    await stopProcess(server, 'SIGKILL');
    await loops;

    const recorded = new Set(auditQuery(config).map((event) => event.requestID));
    const lost = acknowledged.filter((id) => !recorded.has(id));
    assert.deepEqual(lost, [], 'acknowledged management calls without their audit event');
    t.diagnostic(`${acknowledged.length} management calls acknowledged before SIGKILL, ${recorded.size} events in the trail`);
    const { status, report } = auditVerify(config);
    assert.equal(status, 0, report.problem);
  });

  it('writes the events of answered cryptographic calls at the next flush, within a second, and they survive SIGKILL', async (t) => {
    const kms = await start();
    // A change is written with everything buffered before it: the head is then known.
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await eventually(() => {
      assert.ok(appendedHeads(log).length > 0);
    });
    const headBefore = Math.max(...appendedHeads(log));
    const answered: string[] = [];
    for (let i = 0; i < ENCRYPTS; i += 1)
      answered.push((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`m${i}`) }))).$metadata.requestId!);
    const lastAnswer = Date.now();
    await eventually(() => {
      assert.ok(Math.max(...appendedHeads(log)) >= headBefore + ENCRYPTS);
    });
    t.diagnostic(
      `the last Encrypt's event was in the store ${Date.now() - lastAnswer} ms after its answer (at most one flush interval, 1000 ms, on an idle machine)`,
    );
    await stopProcess(server, 'SIGKILL');

    const recorded = new Set(auditQuery(config, ['--event', 'Encrypt', '--key', keyId]).map((event) => event.requestID));
    assert.deepEqual(
      answered.filter((id) => !recorded.has(id)),
      [],
    );
    assert.equal(auditVerify(config).status, 0);
  });

  it('keeps the event of every acknowledged HSM shell change (users, passwords, keys) when killed with SIGKILL', async () => {
    await start();
    const { hsm } = await new Clusters({ endpoint: () => endpoint }, dir).initialized(REGION);
    const acknowledged: string[] = [];
    /** A command of the HSM endpoint that must succeed; its answer's request ID is noted. */
    const call = async (path: string, body: Record<string, unknown>, token?: string): Promise<Record<string, unknown>> => {
      const response = await fetch(`${endpoint}/hsm/v1/hsms/${hsm.HsmId}/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 200, await response.clone().text());
      acknowledged.push(response.headers.get('x-amzn-requestid')!);
      return (await response.json()) as Record<string, unknown>;
    };
    const officer = (await call('login', { type: 'PRECO', name: 'admin', password: 'password' })).session as string;
    await call('commands/changePswd', { type: 'PRECO', name: 'admin', password: 'officer-kill-1' }, officer);
    for (let i = 0; i < 4; i += 1) await call('commands/createUser', { type: 'CU', name: `user${i}`, password: `user-kill-${i}` }, officer);
    const user = (await call('login', { type: 'CU', name: 'user0', password: 'user-kill-0' })).session as string;
    const { handle } = await call('commands/genSymKey', { keyType: 31, size: 32, label: 'before-kill' }, user);
    await call('commands/deleteKey', { handle }, user);
    // No pause: the kill follows the last acknowledgement at once.
    await stopProcess(server, 'SIGKILL');

    const recorded = new Set(auditQuery(config, ['--since', '1h']).map((event) => event.requestID));
    assert.deepEqual(
      acknowledged.filter((id) => !recorded.has(id)),
      [],
      'acknowledged HSM changes without their audit event',
    );
    assert.equal(auditVerify(config).status, 0);
  });
});
