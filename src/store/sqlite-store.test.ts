import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite-store.ts';
import { storeSuite } from './store.suite.ts';

storeSuite('SQLite', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'concord-store-')), 'region.db')));
