import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { AuditTrail } from '../../src/audit/index.ts';
import { RegionIdentity } from '../../src/regions/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { auditVerify } from '../e2e/audit-cli.ts';
import { ACCOUNT } from '../e2e/harness.ts';
import { writeRegionConfig } from '../e2e/server-process.ts';
import { softwareUnits } from '../e2e/tke-harness.ts';

const REGION = 'us-east-1';
const EVENTS = 15;
const SIGNED_AT = 10;
const root = mkdtempSync(join(tmpdir(), 'concord-audit-tampering-'));
const pristine = join(root, 'pristine');

const eventKey = (seq: number): string => `audit/event/${String(seq).padStart(15, '0')}`;

interface StoredEvent {
  seq: number;
  time: number;
  hash: string;
  event: { eventName: string; [member: string]: unknown };
}

/** A copy of the pristine region directory, its store edited by `tamper` with SQL as an attacker with the file would; answers its configuration. */
function tampered(name: string, tamper: (db: Database.Database) => void): string {
  const dir = join(root, name);
  cpSync(pristine, dir, { recursive: true });
  const db = new Database(join(dir, REGION, 'keys.db'));
  tamper(db);
  db.close();
  return writeRegionConfig(dir, REGION, 0, softwareUnits(dir, REGION));
}

const read = (db: Database.Database, seq: number): StoredEvent =>
  JSON.parse((db.prepare('SELECT value FROM entries WHERE key = ?').pluck().get(eventKey(seq)) as string | undefined) ?? 'null') as StoredEvent;
const write = (db: Database.Database, key: string, value: unknown): void => {
  db.prepare('UPDATE entries SET value = ? WHERE key = ?').run(typeof value === 'string' ? value : JSON.stringify(value), key);
};

/** The verdict of `concord audit verify` on a tampered copy: it must fail, naming the first bad sequence number. */
function verdict(config: string): { firstBadSeq: number | undefined; problem: string } {
  const { status, report, stderr } = auditVerify(config);
  assert.equal(status, 1, `verify passed a tampered trail: ${JSON.stringify(report)}`);
  assert.equal(report.ok, false);
  assert.match(stderr, /fails at sequence \d+/);
  return { firstBadSeq: report.firstBadSeq, problem: report.problem ?? '' };
}

describe('audit trail tampering in the SQLite file is detected by concord audit verify', () => {
  before(async () => {
    mkdirSync(join(pristine, REGION), { recursive: true, mode: 0o700 });
    const store = new SqliteStore(join(pristine, REGION, 'keys.db'));
    const trail = await AuditTrail.open({
      store,
      scope: { region: REGION, account: ACCOUNT },
      signer: RegionIdentity.openOrInit(join(pristine, REGION, 'region-identity.json')),
      log: pino({ level: 'silent' }),
      signIntervalMs: 3_600_000,
      retentionDays: 365,
    });
    for (let seq = 1; seq <= EVENTS; seq += 1) {
      void trail.record({
        surface: 'kms',
        eventName: seq % 2 === 0 ? 'Decrypt' : 'Encrypt',
        caller: { accessKeyId: 'AKIACONCORDTEST0001', principal: `arn:aws:iam::${ACCOUNT}:root` },
        input: { KeyId: 'alias/app' },
        route: 'POST /',
        headers: {},
        status: 200,
        sourceIp: '127.0.0.1',
        requestId: `request-${seq}`,
        time: Date.now(),
      });
      if (seq === SIGNED_AT) {
        await trail.flush();
        await trail.signHead();
      }
    }
    await trail.close();
    await store.close();
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('passes the untouched trail', () => {
    const { status, report } = auditVerify(writeRegionConfig(pristine, REGION, 0, softwareUnits(pristine, REGION)));
    assert.equal(status, 0, report.problem);
    assert.deepEqual([report.events, report.signedHeads, report.signaturesChecked], [EVENTS, 2, true]);
  });

  it('detects a deleted event', () => {
    const config = tampered('deleted', (db) => db.prepare('DELETE FROM entries WHERE key = ?').run(eventKey(5)));
    assert.equal(verdict(config).firstBadSeq, 5);
  });

  it('detects two events swapped', () => {
    const config = tampered('swapped', (db) => {
      const [four, seven] = [read(db, 4), read(db, 7)];
      write(db, eventKey(4), seven);
      write(db, eventKey(7), four);
    });
    assert.equal(verdict(config).firstBadSeq, 4);
  });

  it('detects two events swapped with their sequence numbers rewritten to fit', () => {
    const config = tampered('swapped-renumbered', (db) => {
      const [four, seven] = [read(db, 4), read(db, 7)];
      write(db, eventKey(4), { ...seven, seq: 4 });
      write(db, eventKey(7), { ...four, seq: 7 });
    });
    assert.equal(verdict(config).firstBadSeq, 4);
  });

  it('detects an altered field', () => {
    const config = tampered('altered', (db) => {
      const six = read(db, 6);
      write(db, eventKey(6), { ...six, event: { ...six.event, eventName: 'ListKeys' } });
    });
    assert.equal(verdict(config).firstBadSeq, 6);
  });

  it('detects an altered field when every later hash and the head are recomputed, by the signed head', () => {
    const config = tampered('rehashed', (db) => {
      let previous = read(db, 5).hash;
      for (let seq = 6; seq <= EVENTS; seq += 1) {
        const stored = read(db, seq);
        if (seq === 6) stored.event = { ...stored.event, eventName: 'ListKeys' };
        // The chain's formula is public; only the identity key's signature is not.
        stored.hash = createHash('sha256')
          .update(`${previous}\n${seq}\n${stored.time}\n${JSON.stringify(stored.event, Object.keys(flatten(stored.event)).sort())}`)
          .digest('hex');
        previous = stored.hash;
        write(db, eventKey(seq), stored);
      }
      write(db, 'audit/head', { seq: EVENTS, hash: previous });
    });
    const { problem } = verdict(config);
    assert.match(problem, /head signed at 10/);
  });

  it('detects the tail truncated after a signed head, with the head moved back to fit', () => {
    const config = tampered('truncated', (db) => {
      for (let seq = 13; seq <= EVENTS; seq += 1) db.prepare('DELETE FROM entries WHERE key = ?').run(eventKey(seq));
      write(db, 'audit/head', { seq: 12, hash: read(db, 12).hash });
    });
    const { firstBadSeq, problem } = verdict(config);
    assert.equal(firstBadSeq, 13);
    assert.match(problem, /truncated/);
  });

  it('detects a signed head forged by a writer of the store without the identity key', () => {
    const config = tampered('forged-head', (db) => {
      const key = `audit/signed-head/${String(SIGNED_AT).padStart(15, '0')}`;
      const head = JSON.parse(db.prepare('SELECT value FROM entries WHERE key = ?').pluck().get(key) as string) as { hash: string };
      write(db, key, { ...head, hash: 'f'.repeat(64) });
    });
    assert.equal(verdict(config).firstBadSeq, SIGNED_AT);
  });
});

/** Every member name at every depth, so that JSON.stringify with them sorted as its replacer list writes sorted JSON. */
function flatten(value: unknown, names: Record<string, true> = {}): Record<string, true> {
  if (value && typeof value === 'object') {
    for (const [name, member] of Object.entries(value)) {
      if (!Array.isArray(value)) names[name] = true;
      flatten(member, names);
    }
  }
  return names;
}
