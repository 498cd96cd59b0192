import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateKeyAccess, type AccessRequest, type Identity } from './evaluate-policy.ts';
import { parsePolicy } from './parse-policy.ts';
import { requestValues } from './request-values.ts';

const ACCOUNT = '111122223333';
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const keyPolicy = (...Statement: object[]) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement }), 'key');
const nobody: Identity = { root: false, policies: [] };

function request(action: string, options: { principal?: string; context?: Record<string, string> } = {}): AccessRequest {
  const principal = options.principal ?? APP;
  const values = requestValues({ principal, account: ACCOUNT, region: 'us-east-1', encryptionContext: options.context });
  return { principal, account: ACCOUNT, action: `kms:${action}`, resource: KEY, values };
}

describe('policy conditions', () => {
  const withCondition = (Condition: object) => keyPolicy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*', Condition });
  const allowed = (Condition: object, context?: Record<string, string>, principal?: string) =>
    evaluateKeyAccess(withCondition(Condition), nobody, request('Decrypt', { context, principal })).allowed;

  it('requires an exact encryption context value with StringEquals, matching the context key case-insensitively', () => {
    const condition = { StringEquals: { 'kms:EncryptionContext:Department': ['Finance', 'Legal'] } };
    assert.equal(allowed(condition, { department: 'Legal' }), true);
    assert.equal(allowed(condition, { Department: 'finance' }), false);
    assert.equal(allowed(condition), false);
  });

  it('treats a missing key as satisfying StringNotEquals and StringNotLike but not StringLike', () => {
    assert.equal(allowed({ StringNotEquals: { 'kms:EncryptionContext:stage': 'prod' } }), true);
    assert.equal(allowed({ StringNotEquals: { 'kms:EncryptionContext:stage': 'prod' } }, { stage: 'prod' }), false);
    assert.equal(allowed({ StringNotLike: { 'kms:EncryptionContext:stage': 'pr*' } }, { stage: 'dev' }), true);
    assert.equal(allowed({ StringNotLike: { 'kms:EncryptionContext:stage': 'pr*' } }, { stage: 'preview' }), false);
    assert.equal(allowed({ StringLike: { 'kms:EncryptionContext:stage': 'd?v' } }, { stage: 'dev' }), true);
    assert.equal(allowed({ StringLike: { 'kms:EncryptionContext:stage': 'd?v' } }), false);
  });

  it('distinguishes ForAllValues and ForAnyValue on kms:EncryptionContextKeys', () => {
    const all = { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'stage'] } };
    const any = { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': ['app', 'stage'] } };
    assert.equal(allowed(all, { app: 'x' }), true);
    assert.equal(allowed(all, { app: 'x', user: 'y' }), false);
    assert.equal(allowed(all), true, 'ForAllValues holds for a request without the key, as in AWS');
    assert.equal(allowed(any, { app: 'x', user: 'y' }), true);
    assert.equal(allowed(any, { user: 'y' }), false);
    assert.equal(allowed(any), false);
  });

  it('checks presence with Null', () => {
    assert.equal(allowed({ Null: { 'kms:EncryptionContextKeys': 'false' } }, { app: 'x' }), true);
    assert.equal(allowed({ Null: { 'kms:EncryptionContextKeys': 'false' } }), false);
    assert.equal(allowed({ Null: { 'kms:EncryptionContextKeys': true } }), true);
  });

  it('compares Bool values case-insensitively', () => {
    assert.equal(allowed({ Bool: { 'kms:EncryptionContext:audited': 'true' } }, { audited: 'TRUE' }), true);
    assert.equal(allowed({ Bool: { 'kms:EncryptionContext:audited': true } }, { audited: 'false' }), false);
  });

  it('conditions on the caller account and principal ARN, ANDing operators', () => {
    const condition = { StringEquals: { 'kms:CallerAccount': ACCOUNT }, ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/a*` } };
    assert.equal(allowed(condition), true);
    assert.equal(allowed({ StringEquals: { 'kms:CallerAccount': '444455556666' } }), false);
    assert.equal(allowed({ StringEquals: { 'aws:PrincipalArn': ADMIN } }), false);
  });

  it('accepts a missing key under an IfExists operator', () => {
    assert.equal(allowed({ StringEqualsIfExists: { 'kms:EncryptionContext:stage': 'prod' } }), true);
    assert.equal(allowed({ StringEqualsIfExists: { 'kms:EncryptionContext:stage': 'prod' } }, { stage: 'dev' }), false);
  });

  it('reads a context key given in several cases as each of its values, so no variant widens an Allow', () => {
    const variants = { dept: 'a', Dept: 'b' };
    assert.equal(allowed({ StringEquals: { 'kms:EncryptionContext:dept': 'a' } }, { Dept: 'a' }), true);
    assert.equal(allowed({ StringEquals: { 'kms:EncryptionContext:dept': 'a' } }, variants), false);
    assert.equal(allowed({ StringEquals: { 'kms:EncryptionContext:dept': ['a', 'b'] } }, variants), true);
    assert.equal(allowed({ StringNotEquals: { 'kms:EncryptionContext:dept': 'b' } }, variants), false);
    assert.equal(allowed({ StringLike: { 'kms:EncryptionContext:dept': 'a*' } }, variants), false);
    assert.equal(allowed({ 'ForAllValues:StringEquals': { 'kms:EncryptionContext:dept': 'a' } }, variants), false);
    assert.equal(allowed({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContext:dept': 'a' } }, variants), false);
    assert.equal(allowed({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['dept', 'Dept'] } }, variants), true);
  });

  it('matches a Deny on a context key when any case variant of the key matches', () => {
    const denied = (Condition: object, context?: Record<string, string>) =>
      !evaluateKeyAccess(
        keyPolicy(
          { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition },
        ),
        nobody,
        request('Decrypt', { context }),
      ).allowed;
    assert.equal(denied({ StringEquals: { 'kms:EncryptionContext:dept': 'secret' } }, { Dept: 'secret' }), true);
    assert.equal(denied({ StringEquals: { 'kms:EncryptionContext:dept': 'secret' } }, { dept: 'open', Dept: 'secret' }), true);
    assert.equal(denied({ StringEquals: { 'kms:EncryptionContext:dept': 'secret' } }, { DEPT: 'secret', dept: 'open' }), true);
    assert.equal(denied({ StringEquals: { 'kms:EncryptionContext:dept': 'secret' } }, { dept: 'open', Dept: 'Secret' }), false);
    assert.equal(denied({ StringNotEquals: { 'kms:EncryptionContext:dept': 'open' } }, { dept: 'open', Dept: 'other' }), true);
    assert.equal(denied({ StringNotEquals: { 'kms:EncryptionContext:dept': 'open' } }, { dept: 'open' }), false);
    assert.equal(denied({ 'ForAnyValue:StringLike': { 'kms:EncryptionContext:dept': 's*' } }, { dept: 'open', Dept: 'secret' }), true);
  });

  it('conditions on the region deciding the request', () => {
    assert.equal(allowed({ StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }), true);
    assert.equal(allowed({ StringEquals: { 'aws:RequestedRegion': 'us-west-2' } }), false);
  });
});
