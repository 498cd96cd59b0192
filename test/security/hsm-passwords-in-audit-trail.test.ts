import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/audit/index.ts';
import { auditQuery, auditVerify } from '../e2e/audit-cli.ts';
import { freePorts } from '../e2e/harness.ts';
import { Clusters, hsmCall, hsmLogin } from '../e2e/hsm-shells.ts';
import { startServerProcess, stopProcess, writeRegionConfig } from '../e2e/server-process.ts';
import { selfInitialisingUnits } from '../e2e/tke-harness.ts';

const REGION = 'us-east-1';
/** Every password this test gives an HSM user or tries: none may reach the trail, in any encoding. */
const PASSWORDS = {
  officer: 'Officer-pw-7101',
  alice: 'Alice-pw-7102',
  aliceReset: 'Alice-pw-7103',
  bob: 'Bob-pw-7104',
  bobOwn: 'Bob-pw-7105',
  secondOfficer: 'Officer2-pw-7106',
  appliance: 'Appliance-pw-7107',
  wrong: 'Wrong-pw-7108',
  typedAsName: 'Typed_as_name_7109',
};

/** The ways a secret could be written: plain, base64, base64url, hex. */
const encodings = (secret: string): string[] => {
  const bytes = Buffer.from(secret);
  return [secret, bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
};

describe('HSM user passwords, session tokens and masked objects never reach the audit trail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-audit-secrets-'));
  let config: string;
  let server: ChildProcess;
  let events: AuditEvent[];
  const tokens: string[] = [];
  const masked: string[] = [];

  before(async () => {
    const port = await freePorts(1);
    config = writeRegionConfig(dir, REGION, port, { ...selfInitialisingUnits(dir, REGION), logLevel: 'warn' });
    const endpoint = `http://127.0.0.1:${port}`;
    server = await startServerProcess(config, endpoint);
    const { hsm } = await new Clusters({ endpoint: () => endpoint }, dir).initialized(REGION);
    const login = async (type: string, name: string, password: string) => {
      const token = await hsmLogin(endpoint, hsm.HsmId, type, name, password);
      tokens.push(token);
      return token;
    };
    const command = async (token: string, name: string, args: Record<string, unknown>, status = 200) => {
      const answer = await hsmCall(endpoint, hsm.HsmId, `commands/${name}`, args, token);
      assert.equal(answer.status, status, `${name}: ${answer.text}`);
      return answer.body;
    };
    const refusedLogin = async (type: string, name: string, password: string) => {
      assert.equal((await hsmCall(endpoint, hsm.HsmId, 'login', { type, name, password })).status, 401);
    };

    // The precrypto officer's default password, "password", is a word the trail has anyway.
    const preco = await login('PRECO', 'admin', 'password');
    await command(preco, 'changePswd', { type: 'PRECO', name: 'admin', password: PASSWORDS.officer });
    await command(preco, 'createUser', { type: 'CU', name: 'alice', password: PASSWORDS.alice });
    await command(preco, 'createUser', { type: 'CU', name: 'bob', password: PASSWORDS.bob });
    await command(preco, 'createUser', { type: 'CO', name: 'officer2', password: PASSWORDS.secondOfficer });
    await command(preco, 'createUser', { type: 'AU', name: 'appliance', password: PASSWORDS.appliance });
    // A password too short is refused with the password in the request.
    await command(preco, 'createUser', { type: 'CU', name: 'carol', password: 'short' }, 403);
    // Wrong passwords, until bob is locked out; a password typed as the user name; a user that does not exist.
    for (let i = 0; i < 6; i++) await refusedLogin('CU', 'bob', PASSWORDS.wrong);
    await refusedLogin('CU', PASSWORDS.typedAsName, PASSWORDS.bob);
    await refusedLogin('CO', 'nobody', PASSWORDS.wrong);
    // A crypto officer resets a password; a user changes its own.
    await command(preco, 'changePswd', { type: 'CU', name: 'bob', password: PASSWORDS.bob });
    await command(preco, 'changePswd', { type: 'CU', name: 'alice', password: PASSWORDS.aliceReset });
    const bob = await login('CU', 'bob', PASSWORDS.bob);
    await command(bob, 'changePswd', { type: 'CU', name: 'bob', password: PASSWORDS.bobOwn });
    const alice = await login('CU', 'alice', PASSWORDS.aliceReset);
    const { handle } = await command(alice, 'genSymKey', { keyType: 31, size: 32, label: 'audited' });
    // The masked objects syncKey and syncUser carry, exported and imported back.
    const officer = await login('CO', 'officer2', PASSWORDS.secondOfficer);
    const key = (await command(alice, 'exportKey', { handle })).synced as { sealed: string };
    const user = (await command(officer, 'exportUser', { userId: 2 })).synced as { sealed: string };
    masked.push(key.sealed, user.sealed);
    await hsmCall(endpoint, hsm.HsmId, 'commands/importKey', { synced: key }, alice);
    await hsmCall(endpoint, hsm.HsmId, 'commands/importUser', { synced: user }, officer);
    await command(alice, 'logout', {});

    await stopProcess(server, 'SIGTERM');
    events = auditQuery(config).filter((event) => event.eventSource === 'hsm.concord');
  });
  after(async () => {
    await stopProcess(server, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('records every login, refused ones included, every password change and user creation', () => {
    const logins = events.filter((event) => event.eventName === 'login');
    assert.equal(logins.filter((event) => event.errorCode === 'LoginFailed').length, 8);
    assert.deepEqual(
      logins.filter((e) => e.errorCode === 'LoginFailed').map((e) => e.errorMessage),
      [
        ...Array<string>(5).fill('invalid password'),
        'user bob is locked out; a crypto officer must reset its password',
        ...Array<string>(2).fill('invalid user name or type'),
      ],
    );
    assert.equal(events.filter((event) => event.eventName === 'changePswd').length, 4);
    assert.equal(events.filter((event) => event.eventName === 'createUser').length, 5);
  });

  it('keeps no password, in plain, base64 or hex, in the events concord audit query prints', () => {
    const printed = JSON.stringify(events);
    for (const password of Object.values(PASSWORDS)) {
      for (const written of encodings(password)) assert.ok(!printed.includes(written), `the trail holds ${password} as ${written}`);
    }
  });

  it('keeps no password in the SQLite files, in plain, base64 or hex', () => {
    const files = readdirSync(join(dir, REGION)).filter((name) => name.startsWith('keys.db'));
    assert.ok(files.length > 0);
    for (const file of files) {
      const bytes = readFileSync(join(dir, REGION, file));
      for (const password of Object.values(PASSWORDS)) {
        for (const written of encodings(password)) assert.ok(!bytes.includes(written), `${file} holds ${password} as ${written}`);
      }
    }
  });

  it('keeps neither a session token nor a masked object in the trail, and the chain verifies', () => {
    const printed = JSON.stringify(events);
    assert.deepEqual([tokens.length, masked.length], [4, 2]);
    for (const secret of [...tokens, ...masked]) assert.ok(!printed.includes(secret.slice(0, 24)), 'the trail holds a token or a masked object');
    const { status, report } = auditVerify(config);
    assert.deepEqual([status, report.ok], [0, true]);
  });
});
