import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendSuite } from './backend.suite.ts';
import { SoftwareVault } from './software-vault.ts';

backendSuite('software', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-units-'));
  return {
    storageDir: dir,
    open: async (unitId) => SoftwareVault.open(join(dir, unitId)),
    cleanup: async () => { rmSync(dir, { recursive: true, force: true }); },
  };
});
