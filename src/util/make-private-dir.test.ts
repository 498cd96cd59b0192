import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makePrivateDir, makePrivateFile } from './make-private-dir.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-private-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const mode = (path: string) => statSync(path).mode & 0o777;

/** Runs `work` under `umask`, then restores the process's. */
function underUmask(umask: number, work: () => void): void {
  const before = process.umask(umask);
  try {
    work();
  } finally {
    process.umask(before);
  }
}

test('makePrivateDir creates every missing directory 0700 under a permissive or an odd umask', () => {
  for (const [name, umask] of [
    ['permissive', 0o000],
    ['odd', 0o377],
  ] as const) {
    underUmask(umask, () => {
      makePrivateDir(join(dir, name, 'b', 'c'));
    });
    for (const path of [join(dir, name), join(dir, name, 'b'), join(dir, name, 'b', 'c')])
      assert.equal(mode(path), 0o700, `${path} under umask ${umask.toString(8)}`);
  }
});

test('makePrivateDir leaves a directory that already exists as it is', () => {
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o755);
  makePrivateDir(join(shared, 'own'));
  assert.equal(mode(shared), 0o755);
  assert.equal(mode(join(shared, 'own')), 0o700);
});

test('makePrivateFile creates a file 0600 whatever the umask and tightens an existing one, keeping its contents', () => {
  underUmask(0o000, () => {
    makePrivateFile(join(dir, 'new.db'));
  });
  assert.equal(mode(join(dir, 'new.db')), 0o600);
  const existing = join(dir, 'old.db');
  writeFileSync(existing, 'kept', { mode: 0o644 });
  chmodSync(existing, 0o644);
  makePrivateFile(existing);
  assert.equal(mode(existing), 0o600);
  assert.equal(statSync(existing).size, 4);
});
