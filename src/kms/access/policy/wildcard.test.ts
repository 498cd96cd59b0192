import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wildcardMatch } from './wildcard.ts';

/**
 * The matcher this one replaced, as a reference: a regular expression is fine here, where the
 * patterns and values are the test's own and short enough that backtracking stays cheap.
 */
function reference(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${source}$`, 's').test(value);
}

/** A deterministic pseudo-random generator, so that a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('wildcardMatch', () => {
  it('matches literal text exactly', () => {
    assert.equal(wildcardMatch('kms:Encrypt', 'kms:Encrypt'), true);
    assert.equal(wildcardMatch('kms:Encrypt', 'kms:EncryptX'), false);
    assert.equal(wildcardMatch('kms:Encrypt', 'kms:Encryp'), false);
  });

  it('lets * stand for any run of characters, the empty one and line breaks included', () => {
    assert.equal(wildcardMatch('*', ''), true);
    assert.equal(wildcardMatch('*', 'anything at all'), true);
    assert.equal(wildcardMatch('a*b', 'ab'), true);
    assert.equal(wildcardMatch('a*b', 'a\nxyz\nb'), true);
    assert.equal(wildcardMatch('a*b', 'a-b-c'), false);
    assert.equal(wildcardMatch('a**b', 'axxb'), true);
    assert.equal(wildcardMatch('*ab*ab*', 'abab'), true);
    assert.equal(wildcardMatch('*ab*ab*', 'aba'), false);
    assert.equal(wildcardMatch('a*bc*bc', 'abcbcbc'), true);
  });

  it('lets ? stand for exactly one character', () => {
    assert.equal(wildcardMatch('?', 'x'), true);
    assert.equal(wildcardMatch('?', ''), false);
    assert.equal(wildcardMatch('?', 'xy'), false);
    assert.equal(wildcardMatch('a?c', 'abc'), true);
    assert.equal(wildcardMatch('a?c', 'ac'), false);
    assert.equal(wildcardMatch('*?b?*', 'xxbx'), true);
    assert.equal(wildcardMatch('*?b?*', 'bx'), false);
  });

  it('treats regular expression metacharacters as themselves', () => {
    assert.equal(wildcardMatch('a.c', 'a.c'), true);
    assert.equal(wildcardMatch('a.c', 'abc'), false);
    assert.equal(wildcardMatch('(a|b)+[x]{2}^$\\d', '(a|b)+[x]{2}^$\\d'), true);
    assert.equal(wildcardMatch('(a|b)+', 'a'), false);
    assert.equal(wildcardMatch('\\d', '1'), false);
  });

  it('matches the empty pattern only against the empty value', () => {
    assert.equal(wildcardMatch('', ''), true);
    assert.equal(wildcardMatch('', 'a'), false);
    assert.equal(wildcardMatch('a', ''), false);
  });

  it('is case-sensitive, as StringLike is, unless asked otherwise', () => {
    assert.equal(wildcardMatch('Dept*', 'dept-a'), false);
    assert.equal(wildcardMatch('dept?A', 'dept-a'), false);
    assert.equal(wildcardMatch('kms:encrypt*', 'kms:EncryptX', true), true);
    assert.equal(wildcardMatch('KMS:?ECRYPT', 'kms:Decrypt', true), true);
  });

  it('answers the pattern that froze the regular expression without backtracking', () => {
    const pattern = '*a*a*a*a*a*a*a*a*a*a*b';
    assert.equal(wildcardMatch(pattern, 'a'.repeat(4096)), false);
    assert.equal(wildcardMatch(pattern, `${'a'.repeat(4096)}b`), true);
    assert.equal(wildcardMatch(`*${'?'.repeat(100)}b`, 'a'.repeat(4096)), false);
  });

  it('agrees with the regular expression reference on random patterns and values', () => {
    const random = generator(11);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 20000; i++) {
      const pattern = pick('ab*?.\\', Math.floor(random() * 8));
      const value = pick('ab.\\', Math.floor(random() * 10));
      assert.equal(wildcardMatch(pattern, value), reference(pattern, value), `${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
    }
  });

  it('agrees with the reference on pieces longer than one 32-bit word of ? and letters', () => {
    const random = generator(29);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 2000; i++) {
      const piece = pick('ab??', 30 + Math.floor(random() * 50));
      // The value holds the piece (with each ? filled in) most of the time, sometimes with one character changed.
      const planted = Array.from(piece).map((c) => (c === '?' ? pick('ab', 1) : c));
      if (random() < 0.3) planted[Math.floor(random() * planted.length)] = 'c';
      const value = pick('ab', Math.floor(random() * 60)) + planted.join('') + pick('ab', Math.floor(random() * 60));
      const pattern = `${pick('ab', Math.floor(random() * 3))}*${piece}*${pick('ab?', Math.floor(random() * 3))}`;
      assert.equal(wildcardMatch(pattern, value), reference(pattern, value), `${JSON.stringify(pattern)} against ${JSON.stringify(value)}`);
    }
  });
});
