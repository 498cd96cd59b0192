import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makePrivateDir, PRIVATE_FILE } from './make-private-dir.ts';

/**
 * Writes a file only its owner can read so that, even across a power loss, it holds either
 * its old or its new contents, never a part or nothing: the data goes to a new temporary
 * file beside it and is flushed to disk, the rename replaces the file, and the directory
 * is flushed so that the rename is on disk too. The temporary name is unique, so processes
 * sharing the directory (the nodes of a region) never write into each other's.
 */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  makePrivateDir(dir);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', PRIVATE_FILE);
  try {
    try {
      fchmodSync(fd, PRIVATE_FILE);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
