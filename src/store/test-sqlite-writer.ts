// A second process writing to the SQLite file named by its argument (sqlite-store.test.ts)..
import { SqliteStore } from './sqlite-store.ts';

const store = new SqliteStore(process.argv[2]!, { shared: true });
await store.transaction((tx) => {
  tx.put('k', 'written by another process');
});
await store.close();
