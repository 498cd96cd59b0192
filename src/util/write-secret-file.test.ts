import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSecretFile } from './write-secret-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-secret-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('writeSecretFile creates missing directories and a file readable only by its owner, leaving no temporary file', () => {
  const path = join(dir, 'a', 'b', 'secret.json');
  writeSecretFile(path, '{"k":1}');
  assert.equal(readFileSync(path, 'utf8'), '{"k":1}');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(dir, 'a', 'b')), ['secret.json']);
});

test('writeSecretFile replaces an existing file whole', () => {
  const path = join(dir, 'replaced.json');
  writeSecretFile(path, 'first version, longer than the second');
  writeSecretFile(path, Buffer.from('second'));
  assert.equal(readFileSync(path, 'utf8'), 'second');
  assert.equal(statSync(path).mode & 0o777, 0o600);
});
