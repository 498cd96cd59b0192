import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { derivedGrantWithin, grantPermits, grantToken, parseGrantToken, type GrantRecord } from './grant-record.ts';

const grant = (operations: string[], constraints?: GrantRecord['constraints']): GrantRecord => ({
  grantId: 'g'.repeat(64),
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  granteePrincipal: 'arn:aws:iam::111122223333:user/app',
  issuingAccount: '111122223333',
  operations,
  createdAt: 0,
  ...(constraints ? { constraints } : {}),
});

describe('grant constraints', () => {
  it('allow only the listed operations', () => {
    assert.equal(grantPermits(grant(['Encrypt']), 'Encrypt', true, undefined), true);
    assert.equal(grantPermits(grant(['Encrypt']), 'Decrypt', true, undefined), false);
  });

  it('require exactly the EncryptionContextEquals context, keys case-insensitive and values case-sensitive', () => {
    const equals = grant(['Decrypt'], { EncryptionContextEquals: { Dept: 'IT', app: 'x' } });
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'IT', APP: 'x' }), true);
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'it', app: 'x' }), false);
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'IT', app: 'x', more: '1' }), false);
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'IT' }), false);
  });

  it('require the EncryptionContextSubset pairs and accept more', () => {
    const subset = grant(['Decrypt', 'DescribeKey'], { EncryptionContextSubset: { dept: 'IT' } });
    assert.equal(grantPermits(subset, 'Decrypt', true, { dept: 'IT', more: '1' }), true);
    assert.equal(grantPermits(subset, 'Decrypt', true, undefined), false);
  });

  it('are never widened by request keys that differ only in case', () => {
    const equals = grant(['Decrypt'], { EncryptionContextEquals: { dept: 'a' } });
    assert.equal(grantPermits(equals, 'Decrypt', true, { Dept: 'b', dept: 'a' }), false);
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'a', Dept: 'b' }), false);
    assert.equal(grantPermits(equals, 'Decrypt', true, { dept: 'a', Dept: 'a' }), false, 'two pairs are not the one pair of the constraint');
    const subset = grant(['Decrypt'], { EncryptionContextSubset: { dept: 'a' } });
    assert.equal(grantPermits(subset, 'Decrypt', true, { Dept: 'b', dept: 'a', more: '1' }), false);
    assert.equal(grantPermits(subset, 'Decrypt', true, { dept: 'a', DEPT: 'b' }), false);
    assert.equal(grantPermits(subset, 'Decrypt', true, { DEPT: 'a', more: '1' }), true);
  });

  it('are not applied to operations without an encryption context, nor to asymmetric keys', () => {
    const subset = grant(['Decrypt', 'DescribeKey'], { EncryptionContextSubset: { dept: 'IT' } });
    assert.equal(grantPermits(subset, 'DescribeKey', true, undefined), true);
    assert.equal(grantPermits(subset, 'Decrypt', false, undefined), true);
  });
});

describe('grants created through a grant', () => {
  it('pass on no operation the parent grant lacks', () => {
    const parent = grant(['CreateGrant', 'Decrypt']);
    assert.equal(derivedGrantWithin(parent, ['Decrypt'], undefined, undefined), true);
    assert.equal(derivedGrantWithin(parent, ['Decrypt', 'Encrypt'], undefined, undefined), false);
  });

  it('keep a constraint at least as strict as the parent one', () => {
    const subset = grant(['CreateGrant', 'Decrypt'], { EncryptionContextSubset: { dept: 'IT' } });
    assert.equal(derivedGrantWithin(subset, ['Decrypt'], 'EncryptionContextSubset', { dept: 'IT', team: 'a' }), true);
    assert.equal(derivedGrantWithin(subset, ['Decrypt'], 'EncryptionContextEquals', { DEPT: 'IT' }), true);
    assert.equal(derivedGrantWithin(subset, ['Decrypt'], undefined, undefined), false);
    assert.equal(derivedGrantWithin(subset, ['Decrypt'], 'EncryptionContextSubset', { team: 'a' }), false);
    assert.equal(derivedGrantWithin(subset, ['Decrypt'], 'EncryptionContextSubset', { dept: 'IT', Dept: 'HR' }), false);
    const equals = grant(['CreateGrant', 'Decrypt'], { EncryptionContextEquals: { dept: 'IT' } });
    assert.equal(derivedGrantWithin(equals, ['Decrypt'], 'EncryptionContextEquals', { dept: 'IT' }), true);
    assert.equal(derivedGrantWithin(equals, ['Decrypt'], 'EncryptionContextSubset', { dept: 'IT' }), false);
    assert.equal(derivedGrantWithin(equals, ['Decrypt'], 'EncryptionContextEquals', { DEPT: 'HR', dept: 'IT' }), false);
  });
});

describe('grant tokens', () => {
  it('name their grant and differ on every issue', () => {
    const first = grantToken('key-1', 'grant-1');
    assert.notEqual(grantToken('key-1', 'grant-1'), first);
    assert.deepEqual(parseGrantToken(first), { keyId: 'key-1', grantId: 'grant-1' });
    assert.equal(parseGrantToken('not-a-token'), undefined);
    assert.equal(parseGrantToken(Buffer.from('{"v":2}').toString('base64url')), undefined);
  });
});
