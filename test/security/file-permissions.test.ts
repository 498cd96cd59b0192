import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { BIN, freePorts, startDev } from '../e2e/harness.ts';
import { startServerProcess, stopProcess, writeRegionConfig, regionClient } from '../e2e/server-process.ts';
import { softwareUnits, tkeOk } from '../e2e/tke-harness.ts';
import { writeSecretFile } from '../../src/util/index.ts';

const root = mkdtempSync(join(tmpdir(), 'concord-file-modes-'));
const umaskBefore = process.umask(0);
process.umask(umaskBefore);
after(() => {
  process.umask(umaskBefore);
  rmSync(root, { recursive: true, force: true });
});

/** Every file and directory under `dir` (itself included) whose mode lets anyone but the owner in, or is not 0600/0700. */
function exposed(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    const mode = stat.mode & 0o777;
    const expected = stat.isDirectory() ? 0o700 : 0o600;
    if (mode !== expected) found.push(`${path} is ${mode.toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return found;
}

const entries = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

describe('files Concord creates are not readable by other users', () => {
  it('keeps the data directory of concord dev started under umask 000 private: store, WAL, identities, crypto units', async () => {
    process.umask(0o000);
    const data = join(root, 'dev', 'data');
    const dev = await startDev({ regions: ['us-east-1', 'us-west-2'], dataDir: data });
    try {
      const kms = dev.client();
      const { KeyId } = (await kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!;
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('written to the store') }));
      await kms.send(new DecryptCommand({ CiphertextBlob }));
      // While it runs the WAL holds the latest commits.
      assert.ok(
        entries(data).some((name) => name.endsWith('keys.db-wal')),
        `no WAL among ${entries(data).join(', ')}`,
      );
      assert.deepEqual(exposed(data), []);
    } finally {
      await dev.stop();
    }
    assert.ok(entries(data).some((name) => name.endsWith('region-identity.json')));
    assert.deepEqual(exposed(data), []);
  });

  it('keeps what concord server and concord tke create under umask 022 private: store, identity, crypto units, workspace', async () => {
    process.umask(0o022);
    const dir = join(root, 'server');
    fs.mkdirSync(dir, { mode: 0o700 });
    const region = 'eu-west-1';
    const port = await freePorts(1);
    const config = writeRegionConfig(dir, region, port, { ...softwareUnits(dir, region), peers: {}, logLevel: 'warn' });
    execFileSync(process.execPath, [BIN, 'identity', '--config', config], { encoding: 'utf8' });
    const server = await startServerProcess(config, `http://127.0.0.1:${port}`);
    try {
      await regionClient(region, `http://127.0.0.1:${port}`)
        .send(new CreateKeyCommand({}))
        .catch(() => undefined);
      assert.ok(entries(join(dir, region)).includes('keys.db-wal'));
      assert.deepEqual(exposed(join(dir, region)), []);
    } finally {
      await stopProcess(server, 'SIGTERM');
    }
    assert.deepEqual(exposed(join(dir, region)), []);
    const workspace = join(dir, 'tke', 'workspace');
    await tkeOk(workspace, ['sigkey-add', '--name', 'alice']);
    assert.deepEqual(exposed(join(dir, 'tke')), []);
  });
});

describe('secret files survive a failed write and a power loss', () => {
  it('leaves the old credentials whole and no partial copy behind when a write fails midway (file size limit)', async () => {
    process.umask(0o022);
    const dir = join(root, 'failing');
    const path = join(dir, 'credentials.json');
    writeSecretFile(path, '{"old":true}');
    const module = new URL('../../src/util/write-secret-file.ts', import.meta.url).pathname;
    const script = `import(${JSON.stringify(module)}).then((m) => m.writeSecretFile(${JSON.stringify(path)}, "x".repeat(64 * 1024)))`;
    // A 4 KiB file size limit: the new contents cannot be written whole (EFBIG; Node ignores SIGXFSZ).
    const outcome = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('bash', ['-c', 'ulimit -f 4 && exec "$0" --import tsx -e "$1"', process.execPath, script], (error, _stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stderr });
      }),
    );
    assert.notEqual(outcome.code, 0, 'the write was expected to fail');
    assert.match(outcome.stderr, /EFBIG/);
    assert.equal(readFileSync(path, 'utf8'), '{"old":true}');
    assert.deepEqual(readdirSync(dir), ['credentials.json']);
  });

  it('flushes a secret file before renaming it into place and flushes its directory after', (t) => {
    const dir = join(root, 'flushed');
    const path = join(dir, 'region-identity.json');
    writeSecretFile(path, 'first');
    const events: string[] = [];
    const fsync = fs.fsyncSync;
    const rename = fs.renameSync;
    t.mock.method(fs, 'fsyncSync', (fd: number) => {
      const stat = fs.fstatSync(fd);
      events.push(stat.isDirectory() ? `fsync directory ${stat.ino}` : `fsync file ${stat.ino} of ${stat.size} bytes`);
      fsync(fd);
    });
    t.mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
      events.push(`rename to ${String(to)}`);
      rename(from, to);
    });
    syncBuiltinESMExports();
    try {
      writeSecretFile(path, 'second version');
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.equal(readFileSync(path, 'utf8'), 'second version');
    assert.deepEqual(events, [
      `fsync file ${statSync(path).ino} of ${'second version'.length} bytes`,
      `rename to ${path}`,
      `fsync directory ${statSync(dir).ino}`,
    ]);
  });
});
