import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendSuite } from './backend.suite.ts';
import { SoftwareVault } from './software-vault.ts';

backendSuite('software', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-units-'));
  return Promise.resolve({
    storageDir: dir,
    open: (unitId) => Promise.resolve(SoftwareVault.open(join(dir, unitId))),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
