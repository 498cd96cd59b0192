import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateIdentityAccess, evaluateKeyAccess, type AccessRequest, type Identity } from './evaluate-policy.ts';
import { parsePolicy } from './parse-policy.ts';
import { requestValues } from './request-values.ts';

const ACCOUNT = '111122223333';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const APP = `arn:aws:iam::${ACCOUNT}:user/app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:user/admin`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const keyPolicy = (...Statement: object[]) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement }), 'key');
const identityPolicy = (...Statement: object[]) => parsePolicy({ Version: '2012-10-17', Statement }, 'identity');
const nobody: Identity = { root: false, policies: [] };
const kmsAdmin: Identity = { root: false, policies: [identityPolicy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })] };

function request(action: string, options: { principal?: string; context?: Record<string, string> } = {}): AccessRequest {
  const principal = options.principal ?? APP;
  const values = requestValues({ principal, account: ACCOUNT, region: 'us-east-1', encryptionContext: options.context });
  return { principal, account: ACCOUNT, action: `kms:${action}`, resource: KEY, values };
}

const rootDelegation = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' };

describe('key policy evaluation', () => {
  it('allows a principal the key policy names directly without any identity policy', () => {
    const policy = keyPolicy({ Effect: 'Allow', Principal: { AWS: [APP] }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' });
    assert.deepEqual(evaluateKeyAccess(policy, nobody, request('Encrypt')), { allowed: true });
    assert.deepEqual(evaluateKeyAccess(policy, nobody, request('Sign')), { allowed: false, explicitDeny: false, by: 'resource' });
  });

  it('delegates to identity policies when the key policy allows the account root', () => {
    const policy = keyPolicy(rootDelegation);
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, request('ScheduleKeyDeletion', { principal: ADMIN })), { allowed: true });
    assert.deepEqual(evaluateKeyAccess(policy, nobody, request('Encrypt')), { allowed: false, explicitDeny: false, by: 'identity' });
  });

  it('lets the account root itself through a delegation statement', () => {
    const policy = keyPolicy({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:*', Resource: '*' });
    assert.deepEqual(evaluateKeyAccess(policy, { root: true, policies: [] }, request('PutKeyPolicy', { principal: ROOT })), { allowed: true });
  });

  it('refuses an identity policy alone when the key policy does not delegate', () => {
    const policy = keyPolicy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:Encrypt', Resource: '*' });
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, request('Decrypt', { principal: ADMIN })), { allowed: false, explicitDeny: false, by: 'resource' });
  });

  it('lets an explicit deny in the key policy win over every allow', () => {
    const policy = keyPolicy(
      rootDelegation,
      { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: APP }, Action: 'kms:Decrypt', Resource: '*' },
    );
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, request('Decrypt')), { allowed: false, explicitDeny: true, by: 'resource' });
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, request('Encrypt')), { allowed: true });
  });

  it('applies a deny naming the account root to every principal of the account', () => {
    const policy = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: ROOT }, Action: 'kms:Encrypt', Resource: '*' },
    );
    assert.equal(evaluateKeyAccess(policy, nobody, request('Encrypt')).allowed, false);
    assert.equal(evaluateKeyAccess(policy, nobody, request('Decrypt')).allowed, true);
  });

  it('lets an explicit deny in an identity policy win over a direct key policy allow', () => {
    const policy = keyPolicy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: '*' });
    const identity: Identity = { root: false, policies: [identityPolicy({ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' })] };
    assert.deepEqual(evaluateKeyAccess(policy, identity, request('Decrypt')), { allowed: false, explicitDeny: true, by: 'identity' });
  });

  it('matches action wildcards case-insensitively and honours NotAction', () => {
    const policy = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:get*', Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: ADMIN }, NotAction: ['kms:Decrypt', 'kms:ReEncrypt*'], Resource: '*' },
    );
    assert.equal(evaluateKeyAccess(policy, nobody, request('GetKeyPolicy')).allowed, true);
    assert.equal(evaluateKeyAccess(policy, nobody, request('DescribeKey')).allowed, false);
    assert.equal(evaluateKeyAccess(policy, nobody, request('Encrypt', { principal: ADMIN })).allowed, true);
    assert.equal(evaluateKeyAccess(policy, nobody, request('ReEncryptFrom', { principal: ADMIN })).allowed, false);
  });

  it('matches Resource against the key ARN with wildcards', () => {
    const other = keyPolicy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: `arn:aws:kms:*:${ACCOUNT}:key/other` });
    const mine = keyPolicy({ Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*', Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/*` });
    assert.equal(evaluateKeyAccess(other, nobody, request('Encrypt')).allowed, false);
    assert.equal(evaluateKeyAccess(mine, nobody, request('Encrypt')).allowed, true);
  });

  it('excludes the principals of NotPrincipal from a deny', () => {
    const policy = keyPolicy(
      { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', NotPrincipal: { AWS: [ADMIN] }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    );
    assert.equal(evaluateKeyAccess(policy, nobody, request('ScheduleKeyDeletion')).allowed, false);
    assert.equal(evaluateKeyAccess(policy, nobody, request('ScheduleKeyDeletion', { principal: ADMIN })).allowed, true);
  });

  it('decides identity-only actions from identity policies', () => {
    assert.deepEqual(evaluateIdentityAccess(kmsAdmin, { ...request('CreateKey'), resource: '*' }), { allowed: true });
    assert.deepEqual(evaluateIdentityAccess(nobody, { ...request('CreateKey'), resource: '*' }), { allowed: false, explicitDeny: false, by: 'identity' });
    assert.deepEqual(evaluateIdentityAccess({ root: true, policies: [] }, { ...request('ListKeys'), resource: '*' }), { allowed: true });
  });
});

describe('callers from another account', () => {
  const PARTNER = 'arn:aws:iam::444455556666:role/partner';
  const partnerRequest = (action: string): AccessRequest => ({ ...request(action, { principal: PARTNER }), account: '444455556666' });

  it('need both the key policy and their own identity policy', () => {
    const policy = keyPolicy(rootDelegation, { Effect: 'Allow', Principal: { AWS: PARTNER }, Action: 'kms:Decrypt', Resource: '*' });
    assert.deepEqual(evaluateKeyAccess(policy, nobody, partnerRequest('Decrypt')), { allowed: false, explicitDeny: false, by: 'identity' });
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, partnerRequest('Decrypt')), { allowed: true });
    assert.deepEqual(evaluateKeyAccess(policy, kmsAdmin, partnerRequest('Encrypt')), { allowed: false, explicitDeny: false, by: 'resource' });
  });

  it('are not let in by a statement naming the key account root', () => {
    assert.equal(evaluateKeyAccess(keyPolicy(rootDelegation), kmsAdmin, partnerRequest('Decrypt')).allowed, false);
  });
});

describe('role sessions', () => {
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
  const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/app/alice`;
  const sessionRequest = (action: string): AccessRequest => {
    const values = requestValues({ principal: ROLE, principalTags: { Team: 'payments' }, account: ACCOUNT, region: 'us-east-1' });
    return { principal: SESSION, role: ROLE, account: ACCOUNT, action: `kms:${action}`, resource: KEY, values };
  };

  it('are named by their role, or by their own session ARN', () => {
    for (const named of [ROLE, SESSION]) {
      const policy = keyPolicy({ Effect: 'Allow', Principal: { AWS: named }, Action: 'kms:Encrypt', Resource: '*' });
      assert.deepEqual(evaluateKeyAccess(policy, nobody, sessionRequest('Encrypt')), { allowed: true }, named);
    }
    const otherSession = keyPolicy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/app/bob` },
      Action: 'kms:Encrypt',
      Resource: '*',
    });
    assert.equal(evaluateKeyAccess(otherSession, nobody, sessionRequest('Encrypt')).allowed, false);
  });

  it('show the role as aws:PrincipalArn and their session tags as aws:PrincipalTag', () => {
    const policy = keyPolicy({
      Effect: 'Allow',
      Principal: '*',
      Action: 'kms:Encrypt',
      Resource: '*',
      Condition: { ArnEquals: { 'aws:PrincipalArn': ROLE }, StringEquals: { 'aws:PrincipalTag/team': 'payments' } },
    });
    assert.deepEqual(evaluateKeyAccess(policy, nobody, sessionRequest('Encrypt')), { allowed: true });
    assert.equal(evaluateKeyAccess(policy, nobody, request('Encrypt')).allowed, false);
  });
});

describe('role trust policies', () => {
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;
  const trustPolicy = (principal: string) =>
    parsePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }] }, 'trust');
  const assume = (principal: string): AccessRequest => ({ ...request('x', { principal }), action: 'sts:AssumeRole', resource: ROLE });
  const mayAssume: Identity = { root: false, policies: [identityPolicy({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE })] };

  it('let in a caller they name without an identity policy, as AWS does within an account', () => {
    assert.deepEqual(evaluateKeyAccess(trustPolicy(APP), nobody, assume(APP)), { allowed: true });
    assert.equal(evaluateKeyAccess(trustPolicy(APP), mayAssume, assume(ADMIN)).allowed, false);
  });

  it('naming the account, leave the decision to the caller identity policies', () => {
    assert.deepEqual(evaluateKeyAccess(trustPolicy(ROOT), nobody, assume(APP)), { allowed: false, explicitDeny: false, by: 'identity' });
    assert.deepEqual(evaluateKeyAccess(trustPolicy(ROOT), mayAssume, assume(APP)), { allowed: true });
  });

  it('have no Resource: the role is their resource', () => {
    assert.throws(() => parsePolicy({ Statement: [{ Effect: 'Allow', Principal: { AWS: APP }, Action: 'sts:AssumeRole', Resource: '*' }] }, 'trust'), {
      message: 'A trust policy cannot have a Resource.',
    });
  });
});
