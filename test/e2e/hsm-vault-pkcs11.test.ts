import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pkcs11Vault } from '../../src/cryptounits/index.ts';
import { hsmVaultSuite } from './hsm-vault.suite.ts';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '1234';

// A SoftHSM2 token of this test's own: SoftHSM reads SOFTHSM2_CONF when the library is initialised.
const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-softhsm-'));
mkdirSync(join(dir, 'tokens'));
writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'concord-hsms', '--pin', PIN, '--so-pin', '5678'], { stdio: 'ignore' });

hsmVaultSuite('PKCS#11 (SoftHSM2)', 'pkcs11', (region) =>
  Promise.resolve(Pkcs11Vault.open({ module: MODULE, tokenLabel: 'concord-hsms', pin: PIN, soPin: '5678', unitId: `hsms-${region}` })),
);
