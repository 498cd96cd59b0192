import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { SqliteStore } from '../store/index.ts';
import { KeyService, type KeyServiceOptions } from './key-service.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const TEST_ACCOUNT = '111122223333';

/**
 * For unit tests: a KeyService in us-east-1 on a fresh SQLite file and single-file crypto unit
 * in a temporary directory named after `name`. Close its store when done.
 */
export function testKeyService(
  name: string,
  options: Omit<KeyServiceOptions, 'region' | 'account' | 'store' | 'unit'> = {},
): { store: SqliteStore; service: KeyService } {
  const dir = mkdtempSync(join(tmpdir(), `concord-${name}-`));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  return { store, service: new KeyService({ region: 'us-east-1', account: TEST_ACCOUNT, store, unit, ...options }) };
}
