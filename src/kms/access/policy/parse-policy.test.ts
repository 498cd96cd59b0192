import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KmsError } from '../../../errors/index.ts';
import { KEY_POLICY_MAX_BYTES, parseNewKeyPolicy, parsePolicy } from './parse-policy.ts';

const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

describe('policy parsing', () => {
  const refuses = (document: unknown, kind: 'key' | 'identity' = 'key') => {
    assert.throws(
      () => parsePolicy(typeof document === 'string' ? document : JSON.stringify(document), kind),
      (error: unknown) => error instanceof KmsError && error.code === 'MalformedPolicyDocumentException',
    );
  };

  it('accepts a single Statement object and a bare account ID principal', () => {
    const policy = parsePolicy({ Statement: { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:*', Resource: '*' } }, 'key');
    assert.deepEqual(policy.statements[0]!.principal, { any: false, arns: [ROOT] });
  });

  it('refuses documents AWS refuses', () => {
    refuses('{not json');
    refuses([]);
    refuses({ Statement: [] });
    refuses({ Version: '2020-01-01', Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } });
    refuses({ Statement: { Effect: 'Permit', Principal: '*', Action: 'kms:*', Resource: '*' } });
    refuses({ Statement: { Effect: 'Allow', Action: 'kms:*', Resource: '*' } });
    refuses({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', NotAction: 'kms:Decrypt', Resource: '*' } });
    refuses({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*' } });
    refuses({ Statement: { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 'kms:*', Resource: '*' } });
    refuses({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringSounds: { 'kms:CallerAccount': 'x' } } } });
    refuses({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Extra: 1 } });
    refuses({ Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } }, 'identity');
  });

  it('refuses a policy whose Statement is null, an empty list or missing, as one with no statements', () => {
    for (const document of ['{"Statement": null}', '{"Statement": []}', '{"Version": "2012-10-17"}']) {
      for (const kind of ['key', 'identity'] as const) {
        assert.throws(() => parsePolicy(document, kind), {
          code: 'MalformedPolicyDocumentException',
          message: 'The policy must contain at least one Statement.',
        });
      }
    }
  });

  it('holds a new key policy to 32 KiB, counted in UTF-8 bytes, before reading it', () => {
    const sized = (bytes: number, filler = 'x') => {
      const document = JSON.stringify({ Statement: { Sid: '', Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:*', Resource: '*' } });
      const room = bytes - Buffer.byteLength(document);
      return document.replace('"Sid":""', `"Sid":"${filler.repeat(room / Buffer.byteLength(filler))}"`);
    };
    assert.equal(parseNewKeyPolicy(sized(KEY_POLICY_MAX_BYTES)).statements.length, 1);
    assert.throws(() => parseNewKeyPolicy(sized(KEY_POLICY_MAX_BYTES + 2)), { code: 'LimitExceededException' });
    // 16 Ki two-byte characters: within the model's length in characters, over the quota in bytes.
    assert.throws(() => parseNewKeyPolicy(sized(KEY_POLICY_MAX_BYTES + 2, 'é')), { code: 'LimitExceededException' });
    assert.throws(() => parseNewKeyPolicy('{'.repeat(KEY_POLICY_MAX_BYTES + 1)), { code: 'LimitExceededException' });
  });
});
