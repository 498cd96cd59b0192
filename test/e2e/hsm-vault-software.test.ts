import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftwareVault } from '../../src/cryptounits/index.ts';
import { hsmVaultSuite } from './hsm-vault.suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'concord-hsm-vaults-'));
hsmVaultSuite('software', 'software', (region) => Promise.resolve(SoftwareVault.open(join(dir, region))));
