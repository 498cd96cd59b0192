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
      await store.transaction((tx) => {
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
        store.transaction((tx) => {
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
      await store.transaction((tx) => {
        for (const n of ['3', '1', '2', '5', '4']) tx.put(`e/${n}`, n);
        tx.put('e0', 'outside');
        tx.put('f/1', 'outside');
      });
      const all = await store.list('e/');
      assert.deepEqual(
        all.map((e) => e.value),
        ['1', '2', '3', '4', '5'],
      );
      const page = await store.list('e/', { after: 'e/2', limit: 2 });
      assert.deepEqual(
        page.map((e) => e.key),
        ['e/3', 'e/4'],
      );
    });

    it('deletes keys', async () => {
      await store.transaction((tx) => {
        tx.put('g/1', 'v');
      });
      await store.transaction((tx) => {
        tx.delete('g/1');
      });
      assert.equal(await store.get('g/1'), undefined);
    });

    it('loses no update when transactions on one key run concurrently', async () => {
      await store.transaction((tx) => {
        tx.put('h/counter', '0');
      });
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

    it('keeps a transaction usable after a refused create', async () => {
      await store.transaction(async (tx) => tx.create('j/taken', 'first'));
      await store.transaction(async (tx) => {
        await assert.rejects(tx.create('j/taken', 'second'), StoreConflictError);
        tx.put('j/other', 'written');
      });
      assert.equal(await store.get('j/taken'), 'first');
      assert.equal(await store.get('j/other'), 'written');
    });

    it("shows a transaction's writes to others only once it commits", async () => {
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const writing = store.transaction(async (tx) => {
        tx.put('k/1', 'pending');
        assert.equal(await tx.get('k/1'), 'pending');
        await held;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await store.get('k/1'), undefined);
      assert.deepEqual(await store.list('k/'), []);
      release();
      await writing;
      assert.equal(await store.get('k/1'), 'pending');
    });

    it('lists within a transaction in key order, merging its own writes and deletes', async () => {
      await store.transaction((tx) => {
        for (const n of ['1', '2', '3']) tx.put(`l/${n}`, n);
      });
      await store.transaction(async (tx) => {
        tx.delete('l/2');
        tx.put('l/0', '0');
        tx.put('l/4', '4');
        assert.deepEqual(
          (await tx.list('l/')).map((e) => e.key),
          ['l/0', 'l/1', 'l/3', 'l/4'],
        );
        assert.deepEqual(
          (await tx.list('l/', { after: 'l/0', limit: 2 })).map((e) => e.key),
          ['l/1', 'l/3'],
        );
      });
    });

    it('orders keys bytewise, whatever their case or punctuation', async () => {
      const keys = ['m/b', 'm/B', 'm/a-1', 'm/a_1', 'm/a.1', 'm/a1', 'm/Z', 'm/~'];
      await store.transaction((tx) => {
        keys.forEach((key) => {
          tx.put(key, key);
        });
      });
      const byteOrder = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(
        (await store.list('m/')).map((e) => e.key),
        byteOrder,
      );
    });

    it('runs exclusive work when it is the only node', async () => {
      let ran = false;
      assert.equal(await store.runExclusive('suite job', () => Promise.resolve(void (ran = true))), true);
      assert.equal(ran, true);
    });

    it('tells its own time in whole milliseconds', async () => {
      const first = await store.now();
      assert.ok(Number.isSafeInteger(first));
      // The test's store runs on this machine, so its clock is this machine's.
      assert.ok(Math.abs(first - Date.now()) < 60_000, `store clock ${first} is far from ${Date.now()}`);
    });

    it('keeps values with any unicode text intact', async () => {
      const value = JSON.stringify({ text: 'ünïcødé ✓ \u0000 "quotes"' });
      await store.transaction((tx) => {
        tx.put('i/1', value);
      });
      assert.equal(await store.get('i/1'), value);
    });
  });
}
