import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateKeyPairDer, keyPairPoolStats } from './key-material.ts';
import { KeyPairPool, type KeyPairDer } from './key-pair-pool.ts';

const generateRsa = promisify(generateKeyPair);

/** Real RSA_2048 generation off the event loop, counted, and failing when told to. */
function countingGenerator() {
  const generated: string[] = [];
  let failing = false;
  let running = 0;
  let mostAtOnce = 0;
  const generate = async (spec: string): Promise<KeyPairDer> => {
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    try {
      if (failing) throw new Error('generation failed');
      generated.push(spec);
      const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: 2048 });
      return { privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }), publicKey: publicKey.export({ format: 'der', type: 'spki' }) };
    } finally {
      running -= 1;
    }
  };
  return { generate, generated, fail: (value: boolean) => (failing = value), mostAtOnce: () => mostAtOnce };
}

describe('KeyPairPool', () => {
  it('generates for the first taker of a spec, then fills that spec up to its size, one pair at a time', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 2);
    await pool.take('RSA_2048');
    await pool.idle();
    assert.deepEqual(pool.stats(), [{ spec: 'RSA_2048', available: 2, taken: { pool: 0, generated: 1 } }]);
    assert.equal(generator.generated.length, 3);
    assert.equal(generator.mostAtOnce(), 2, 'the taker generates its own while the refill runs, and the refill runs one at a time');
  });

  it('gives a ready pair to the next taker, each pair once, and refills behind it', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 2);
    await pool.take('RSA_2048');
    await pool.idle();
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const pair = await pool.take('RSA_2048');
      assert.equal(seen.has(pair.privateKey.toString('hex')), false);
      seen.add(pair.privateKey.toString('hex'));
      assert.equal(createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength, 2048);
      assert.equal(createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }).asymmetricKeyType, 'rsa');
      await pool.idle();
    }
    assert.deepEqual(pool.stats(), [{ spec: 'RSA_2048', available: 2, taken: { pool: 3, generated: 1 } }]);
  });

  it('keeps each spec in use apart, bounded by its size', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 1);
    await pool.take('RSA_2048');
    await pool.take('RSA_3072');
    await pool.idle();
    assert.deepEqual(
      pool.stats().map(({ spec, available }) => [spec, available]),
      [
        ['RSA_2048', 1],
        ['RSA_3072', 1],
      ],
    );
    assert.equal(generator.generated.length, 4);
  });

  it('fills the specs it is told to prefill before anyone takes one, one pair of each before a second of any', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 1);
    pool.prefill(['RSA_2048', 'RSA_3072'], 2);
    await pool.idle();
    assert.deepEqual(generator.generated, ['RSA_2048', 'RSA_3072', 'RSA_2048', 'RSA_3072']);
    assert.deepEqual(pool.stats(), [
      { spec: 'RSA_2048', available: 2, taken: { pool: 0, generated: 0 } },
      { spec: 'RSA_3072', available: 2, taken: { pool: 0, generated: 0 } },
    ]);
    await pool.take('RSA_3072');
    assert.deepEqual(pool.stats()[1], { spec: 'RSA_3072', available: 1, taken: { pool: 1, generated: 0 } });
    assert.equal(generator.mostAtOnce(), 1);
  });

  it('never holds more than its size: a lowered size drops the pairs over it, including one generated meanwhile', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 2);
    pool.prefill(['RSA_2048'], 3);
    await pool.idle();
    assert.equal(pool.stats()[0]!.available, 3);
    await pool.take('RSA_2048');
    pool.prefill([], 1);
    assert.equal(pool.stats()[0]!.available, 1);
    await pool.idle();
    assert.equal(pool.stats()[0]!.available, 1);
  });

  it('leaves a failed refill to the next taker instead of retrying in a loop', async () => {
    const generator = countingGenerator();
    const pool = new KeyPairPool(generator.generate, 2);
    generator.fail(true);
    await assert.rejects(pool.take('RSA_2048'), /generation failed/);
    await pool.idle();
    assert.equal(pool.stats()[0]!.available, 0);
    generator.fail(false);
    await pool.take('RSA_2048');
    await pool.idle();
    assert.equal(pool.stats()[0]!.available, 2);
  });
});

describe('generateKeyPairDer', () => {
  it('answers RSA specs from the pool of the process, and generates other specs on the spot', async () => {
    const pair = await generateKeyPairDer('RSA_2048');
    assert.equal(createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength, 2048);
    const ec = await generateKeyPairDer('ECC_NIST_P256');
    assert.equal(createPrivateKey({ key: ec.privateKey, format: 'der', type: 'pkcs8' }).asymmetricKeyType, 'ec');
    assert.deepEqual(
      keyPairPoolStats().map(({ spec, taken }) => [spec, taken.pool + taken.generated]),
      [['RSA_2048', 1]],
    );
  });
});
