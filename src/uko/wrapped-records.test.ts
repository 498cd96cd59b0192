import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { SqliteStore } from '../store/index.ts';
import { Uko } from './uko.ts';

const CALLER = { account: '111122223333', arn: 'arn:aws:iam::111122223333:user/admin' };

describe('the UKO records a master key rotation re-wraps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-uko-rewrap-'));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const unit = SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json'));
  const uko = new Uko({ store, unit });
  after(async () => {
    await store.close();
  });

  it('re-wraps keystore secrets and every version of managed key material under the bindings they were wrapped with', async () => {
    const vault = await uko.createVault({ name: 'rewrap' }, CALLER);
    await uko.createKeystore(
      {
        type: 'aws_kms',
        vault: { id: vault.id },
        name: 'k',
        groups: ['g'],
        aws_region: 'us-west-2',
        aws_access_key_id: 'AKIAEXAMPLE',
        aws_secret_access_key: 'secret',
      },
      false,
      CALLER,
    );
    await uko.createTemplate(
      { vault: { id: vault.id }, name: 'T', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'g', type: 'aws_kms' }] },
      CALLER,
    );
    await uko.createManagedKey({ vault: { id: vault.id }, template_name: 'T' }, CALLER);
    let resealed = 0;
    // What a rotation does: unwrap with the record's binding (which fails on any other) and wrap again.
    const reseal = async (wrapped: Buffer, aad: Buffer) => {
      resealed += 1;
      return unit.wrap(await unit.unwrap(wrapped, aad), aad);
    };
    for (const records of Uko.wrappedRecords) {
      for (const entry of await store.list(records.prefix)) {
        const rewrapped = await records.rewrap(entry.value, reseal, entry.key);
        assert.notEqual(rewrapped, entry.value);
        await store.transaction((tx) => {
          tx.put(entry.key, rewrapped);
        });
      }
    }
    assert.equal(resealed, 2);
    const keystore = (await uko.keystores.list())[0]!;
    const secret = await unit.unwrap(
      Buffer.from(keystore.secrets.aws_secret_access_key!, 'base64'),
      Buffer.from(`uko-keystore:${keystore.id}:aws_secret_access_key`),
    );
    assert.equal(secret.toString(), 'secret');
    const key = (await uko.keys.list())[0]!;
    const material = await unit.unwrap(Buffer.from(key.materials[0]!.wrapped, 'base64'), Buffer.from(`uko-managed-key:${key.id}:1`));
    assert.equal(material.length, 32);
  });
});
