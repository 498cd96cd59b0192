import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { freshSchema, requirePostgres, type TestSchema } from '../../test/e2e/postgres-harness.ts';
import { PostgresStore } from './postgres-store.ts';
import { storeSuite } from './store.suite.ts';
import { StoreUnavailableError } from './store.ts';

const serverUrl = requirePostgres('the PostgreSQL store tests');

if (serverUrl) {
  const schemas: TestSchema[] = [];
  const schema = async (): Promise<TestSchema> => {
    const created = await freshSchema(serverUrl);
    schemas.push(created);
    return created;
  };
  const stores: PostgresStore[] = [];
  /** Opens a store that is closed after the tests even when one fails, so no pool keeps the process alive. */
  const open = async (url: string): Promise<PostgresStore> => {
    const store = await PostgresStore.open(url);
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(schemas.map((s) => s.drop()));
  });

  storeSuite('PostgreSQL', async () => PostgresStore.open((await schema()).url));

  describe('PostgreSQL store on a shared database', () => {
    it('migrates once when several nodes open a fresh database at the same time', async () => {
      const { url } = await schema();
      const nodes = await Promise.all(Array.from({ length: 4 }, () => open(url)));
      await nodes[0]!.transaction((tx) => {
        tx.put('k', 'v');
      });
      assert.equal(await nodes[3]!.get('k'), 'v');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT version FROM schema_version');
      await client.end();
      assert.deepEqual(rows, [{ version: 1 }]);
    });

    it('runs exclusive work on one node until that node closes, then on another', async () => {
      const { url } = await schema();
      const first = await open(url);
      const second = await open(url);
      const ran: string[] = [];
      const job = (node: string) => () => {
        ran.push(node);
        return Promise.resolve();
      };
      assert.equal(await first.runExclusive('sweeper', job('first')), true);
      assert.equal(await second.runExclusive('sweeper', job('second')), false);
      assert.equal(await first.runExclusive('sweeper', job('first')), true);
      assert.equal(await second.runExclusive('rotation', job('second')), true, 'another job name is a separate lock');
      await first.close();
      assert.equal(await second.runExclusive('sweeper', job('second')), true);
      assert.deepEqual(ran, ['first', 'first', 'second', 'second']);
    });

    it('gives no lock to a node in another schema of the same database', async () => {
      const one = await open((await schema()).url);
      const other = await open((await schema()).url);
      assert.equal(await one.runExclusive('sweeper', () => Promise.resolve()), true);
      assert.equal(await other.runExclusive('sweeper', () => Promise.resolve()), true);
    });

    it('reports a lost connection as unavailable and reconnects by itself', async () => {
      const url = new URL((await schema()).url);
      const application = `concord-loss-${process.pid}`;
      url.searchParams.set('application_name', application);
      const store = await open(url.toString());
      await store.transaction((tx) => {
        tx.put('kept', 'yes');
      });
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.getForUpdate('kept');
            tx.put('lost', 'no');
            await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [application]);
            await tx.get('kept');
          }),
          StoreUnavailableError,
        );
      } finally {
        await admin.end();
      }
      assert.equal(await store.get('kept'), 'yes');
      assert.equal(await store.get('lost'), undefined);
    });

    it('refuses to open, quickly and clearly, when the database cannot be reached', async () => {
      const unreachable = new URL(serverUrl);
      unreachable.port = '1';
      const started = Date.now();
      await assert.rejects(PostgresStore.open(unreachable.toString()), StoreUnavailableError);
      assert.ok(Date.now() - started < 10000);
    });
  });
}
