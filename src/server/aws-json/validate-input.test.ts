import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kmsModel } from './kms-model.ts';
import { validateInput } from './validate-input.ts';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const PLAINTEXT = Buffer.from('secret').toString('base64');

const context = (pairs: number, valueLength: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: pairs }, (_, i) => [`k${i}`, 'v'.repeat(valueLength)]));

const refusal = (shape: string, body: unknown): string => {
  try {
    validateInput(kmsModel, shape, body);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'ValidationException');
    return (error as Error).message;
  }
  assert.fail('the input was accepted');
};

describe('validateInput', () => {
  it('accepts an encryption context of 8192 characters of keys and values, and refuses one more', () => {
    const fits = { k: 'v'.repeat(8191) };
    assert.deepEqual(validateInput(kmsModel, 'EncryptRequest', { KeyId: KEY_ID, Plaintext: PLAINTEXT, EncryptionContext: fits }).EncryptionContext, fits);
    const message = refusal('EncryptRequest', { KeyId: KEY_ID, Plaintext: PLAINTEXT, EncryptionContext: { k: 'v'.repeat(8192) } });
    assert.match(message, /at 'encryptionContext' failed to satisfy constraint: Member must have keys and values of total length less than or equal to 8192$/);
  });

  it('counts every pair of the encryption context towards its limit', () => {
    assert.match(refusal('DecryptRequest', { CiphertextBlob: PLAINTEXT, EncryptionContext: context(100, 90) }), /total length less than or equal to 8192/);
    assert.match(
      refusal('ReEncryptRequest', { CiphertextBlob: PLAINTEXT, DestinationKeyId: KEY_ID, DestinationEncryptionContext: context(1, 9000) }),
      /'destinationEncryptionContext'/,
    );
  });

  it('holds each grant constraint to 8 pairs and 384 characters, as AWS documents', () => {
    const grant = (constraints: unknown) => ({
      KeyId: KEY_ID,
      GranteePrincipal: 'arn:aws:iam::111122223333:user/bob',
      Operations: ['Decrypt'],
      Constraints: constraints,
    });
    validateInput(kmsModel, 'CreateGrantRequest', grant({ EncryptionContextEquals: context(8, 44) }));
    assert.match(
      refusal('CreateGrantRequest', grant({ EncryptionContextSubset: context(9, 1) })),
      /at 'constraints.encryptionContextSubset' failed to satisfy constraint: Member must have length less than or equal to 8$/,
    );
    assert.match(
      refusal('CreateGrantRequest', grant({ EncryptionContextEquals: context(1, 383) })),
      /at 'constraints.encryptionContextEquals' failed to satisfy constraint: Member must have keys and values of total length less than or equal to 384$/,
    );
  });

  it('never echoes more than 256 characters of an oversized map', () => {
    const message = refusal('EncryptRequest', { KeyId: KEY_ID, Plaintext: PLAINTEXT, EncryptionContext: { k: 'v'.repeat(20000) } });
    assert.ok(message.length < 500);
  });
});
