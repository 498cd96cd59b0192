import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { StoreConflictError, type Store } from './store.ts';

/** The one test set every Store implementation must pass. */
export function storeSuite(name: string, open: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });

    it('reads back what a committed transaction wrote', async () => {
      await store.transaction(async (tx) => {
        tx.put('a/1', 'one');
        tx.put('a/2', 'two');
      });
      assert.equal(await store.get('a/1'), 'one');
      assert.equal(await store.get('a/2'), 'two');
      assert.equal(await store.get('a/3'), undefined);
    });

    it('sees its own writes inside a transaction', async () => {
      await store.transaction(async (tx) => {
        tx.put('b/1', 'x');
        assert.equal(await tx.get('b/1'), 'x');
        tx.delete('b/1');
        assert.equal(await tx.get('b/1'), undefined);
        tx.put('b/2', 'y');
        assert.deepEqual(await tx.list('b/'), [{ key: 'b/2', value: 'y' }]);
      });
    });

    it('writes nothing when the work throws', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          tx.put('c/1', 'lost');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.get('c/1'), undefined);
    });

    it('refuses to create a key that exists', async () => {
      await store.transaction(async (tx) => tx.create('d/1', 'first'));
      await assert.rejects(
        store.transaction(async (tx) => tx.create('d/1', 'second')),
        StoreConflictError,
      );
      assert.equal(await store.get('d/1'), 'first');
    });

    it('lists a prefix in key order with paging', async () => {
      await store.transaction(async (tx) => {
        for (const n of ['3', '1', '2', '5', '4']) tx.put(`e/${n}`, n);
        tx.put('e0', 'outside');
        tx.put('f/1', 'outside');
      });
      const all = await store.list('e/');
      assert.deepEqual(all.map((e) => e.value), ['1', '2', '3', '4', '5']);
      const page = await store.list('e/', { after: 'e/2', limit: 2 });
      assert.deepEqual(page.map((e) => e.key), ['e/3', 'e/4']);
    });

    it('deletes keys', async () => {
      await store.transaction(async (tx) => tx.put('g/1', 'v'));
      await store.transaction(async (tx) => tx.delete('g/1'));
      assert.equal(await store.get('g/1'), undefined);
    });

    it('loses no update when transactions on one key run concurrently', async () => {
      await store.transaction(async (tx) => tx.put('h/counter', '0'));
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const value = Number(await tx.getForUpdate('h/counter'));
            await new Promise((resolve) => setImmediate(resolve));
            tx.put('h/counter', String(value + 1));
          }),
        ),
      );
      assert.equal(await store.get('h/counter'), '20');
    });

    it('keeps values with any unicode text intact', async () => {
      const value = JSON.stringify({ text: 'ünïcødé ✓ \u0000 "quotes"' });
      await store.transaction(async (tx) => tx.put('i/1', value));
      assert.equal(await store.get('i/1'), value);
    });
  });
}
