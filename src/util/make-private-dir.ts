import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Owner-only modes, set explicitly: the umask only removes bits, and an odd one could remove the owner's too. */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * Creates a directory and its missing parents, each readable only by the owner, whatever
 * the umask. Directories that already exist are left alone: they may be shared ones the
 * process does not own (a home directory, /var/lib).
 */
export function makePrivateDir(path: string): void {
  const first = mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
  if (first === undefined) return;
  const top = resolve(first);
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chmodSync(dir, PRIVATE_DIR);
    if (dir === top || dir === dirname(dir)) return;
  }
}

/** Creates the file if it is missing (its directory too), and makes it readable only by its owner. */
export function makePrivateFile(path: string): void {
  makePrivateDir(dirname(path));
  const fd = openSync(path, 'a', PRIVATE_FILE);
  try {
    fchmodSync(fd, PRIVATE_FILE);
  } finally {
    closeSync(fd);
  }
}
