import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const SOFTHSM_PIN = '1234';
export const SOFTHSM_SO_PIN = '5678';

/**
 * A fresh SoftHSM2 token labelled `label` in `dir` (a new temporary directory by default), with
 * the user PIN `pin`: SoftHSM reads SOFTHSM2_CONF when the library is initialised, so this
 * process and every process it starts from now on see the tokens of `dir`. Returns `dir`.
 */
export function softHsmToken(label: string, dir = mkdtempSync(join(tmpdir(), 'concord-softhsm-')), pin = SOFTHSM_PIN): string {
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', SOFTHSM_SO_PIN], { stdio: 'ignore' });
  return dir;
}
