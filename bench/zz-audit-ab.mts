// Temporary: the audit trail's CPU per event, main (before) against this branch (after), alternating, best of rounds.
import pino from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const roots = { before: '/tmp/hotpath-base/src', after: '/work/wt/hotpath/src' };
const caller = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', principal: 'arn:aws:iam::111122223333:user/admin' };
const headers = { 'user-agent': 'aws-sdk-js/3.0 ua/2.1 os/linux lang/js md/nodejs#20', 'x-amz-target': 'TrentService.Encrypt' };
const input = { KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', Plaintext: Buffer.alloc(4096) };
const output = { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', CiphertextBlob: Buffer.alloc(4200), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
const req = () => ({ surface: 'kms', eventName: 'Encrypt', caller, input, output, route: 'POST /', headers, status: 200, sourceIp: '127.0.0.1', requestId: crypto.randomUUID(), time: Date.now() });
const trails: Record<string, { record(r: unknown): unknown; flush(): Promise<void> }> = {};
for (const [name, root] of Object.entries(roots)) {
  const { AuditTrail } = await import(`${root}/audit/index.ts`);
  const { SqliteStore } = await import(`${root}/store/sqlite-store.ts`);
  const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'ab-')), 'k.db'));
  trails[name] = await AuditTrail.open({ store, scope: { region: 'us-east-1', account: '111122223333' }, log: pino({ level: 'silent' }), signIntervalMs: 3600000, retentionDays: 365 });
}
const best: Record<string, number> = {};
const N = 3000;
for (let round = 0; round < 15; round++) for (const [name, trail] of Object.entries(trails)) {
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) trail.record(req());
  await trail.flush();
  const u = process.cpuUsage(t);
  const per = (u.user + u.system) / N;
  if (round > 2) best[name] = Math.min(best[name] ?? Infinity, per);
}
console.log(Object.entries(best).map(([n, v]) => `${n} ${v.toFixed(1)} µs/event`).join(', '));
process.exit(0);
