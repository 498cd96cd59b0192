import { KmsError } from '../../errors/index.ts';
import { isSymmetric, type KeyRecord } from '../keys/index.ts';
import type { RequestFacts } from '../operation.ts';
import { keyArn, type Caller, type RegionContext } from '../region-context.ts';
import { derivedGrantWithin, granteeGrants, grantPermits, parseGrantToken } from './grants/index.ts';
import { evaluateIdentityAccess, evaluateKeyAccess, type AccessRequest, type Identity, type Verdict } from './policy/evaluate-policy.ts';
import { invalidPrincipals, malformed, parseNewKeyPolicy, parsePolicy, type Policy } from './policy/parse-policy.ts';
import { requestValues } from './policy/request-values.ts';
import type { PrincipalDirectory } from './principal-directory.ts';

const POLICY_CACHE_LIMIT = 1000;

/** Actions a grant can allow: the GrantOperation enum of the API. */
const GRANT_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
]);

/**
 * Decides every request by the key policy, the caller's identity policies and the key's
 * grants, the way AWS KMS does within one account.
 */
export class AccessControl {
  private readonly policies = new Map<string, Policy>();

  constructor(
    private readonly ctx: RegionContext,
    private readonly directory: PrincipalDirectory,
  ) {}

  /** Throws AccessDeniedException unless the caller may perform `action` on `key`. */
  readonly authorize = async (caller: Caller, action: string, key: KeyRecord, facts: RequestFacts = {}): Promise<void> => {
    for (const token of facts.grantTokens ?? []) {
      if (!parseGrantToken(token)) throw new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
    }
    const request = this.request(caller, `kms:${action}`, keyArn(this.ctx, key.keyId), facts);
    const verdict = evaluateKeyAccess(this.keyPolicy(key.policy), this.identity(caller), request);
    if (verdict.allowed) return;
    if (!verdict.explicitDeny && GRANT_OPERATIONS.has(action) && (await this.grantAllows(caller, action, key, facts))) return;
    throw accessDenied(request, verdict);
  };

  /** For actions on no particular key (CreateKey, ListKeys, ...): identity policies decide. */
  readonly authorizeIdentity = (caller: Caller, action: string): Promise<void> => this.identityAllows(caller, `kms:${action}`);

  /** For the crypto unit management API: identity policies must allow `concord:<action>`. */
  readonly authorizeManagement = (caller: Caller, action: string): Promise<void> => this.identityAllows(caller, `concord:${action}`);

  /**
   * Refuses a new key policy naming principals this account does not have, or one that
   * would stop the caller from changing the policy again (unless the caller bypasses that).
   */
  readonly checkKeyPolicy = (document: string, caller: Caller, keyId: string, bypassLockoutCheck: boolean): void => {
    const policy = parseNewKeyPolicy(document);
    for (const statement of policy.statements) {
      const named = [...(statement.principal?.arns ?? []), ...(statement.notPrincipal?.arns ?? [])];
      if (!named.every((arn) => this.directory.exists(arn))) throw invalidPrincipals();
    }
    if (bypassLockoutCheck) return;
    const request = this.request(caller, 'kms:PutKeyPolicy', keyArn(this.ctx, keyId), {});
    if (!evaluateKeyAccess(policy, this.identity(caller), request).allowed) {
      throw malformed('The new key policy will not allow you to update the key policy in the future.');
    }
  };

  /** For the Unified Key Orchestrator API (/api/v4): identity policies must allow `uko:<action>`. */
  readonly authorizeUko = (caller: Caller, action: string): Promise<void> => this.identityAllows(caller, `uko:${action}`);
  /** For the CloudHSM v2 API: identity policies must allow `cloudhsm:<action>` on the resource's ARN, or on '*' for no particular resource. */
  readonly authorizeCloudHsm = (caller: Caller, action: string, resource: string): Promise<void> => this.identityAllows(caller, `cloudhsm:${action}`, resource);

  /** For STS actions other than AssumeRole (GetAccessKeyInfo): identity policies must allow `sts:<action>`. */
  readonly authorizeSts = (caller: Caller, action: string): Promise<void> => this.identityAllows(caller, `sts:${action}`);

  /**
   * AssumeRole (and sts:TagSession when session tags are passed), decided as AWS decides it
   * within one account: the role's trust policy must allow the caller, either naming it (which
   * is enough) or naming the account root, which delegates to the caller's identity policies.
   * An explicit Deny in either refuses; a role that does not exist is refused the same way.
   */
  readonly authorizeAssumeRole = (caller: Caller, roleArn: string, tagged: boolean, conditions: Record<string, string | undefined> = {}): Promise<void> => {
    const trust = this.directory.trustPolicy(roleArn);
    for (const action of tagged ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole']) {
      const request = this.request(caller, action, roleArn, { conditions });
      const verdict: Verdict = trust ? evaluateKeyAccess(trust, this.identity(caller), request) : { allowed: false, explicitDeny: false, by: 'resource' };
      if (!verdict.allowed) return Promise.reject(accessDenied(request, verdict));
    }
    return Promise.resolve();
  };

  /** Settles rather than throws: the authorize* methods answer with its promise. */
  private identityAllows(caller: Caller, action: string, resource = '*'): Promise<void> {
    const request = this.request(caller, action, resource, {});
    const verdict = evaluateIdentityAccess(this.identity(caller), request);
    return verdict.allowed ? Promise.resolve() : Promise.reject(accessDenied(request, verdict));
  }

  /** A role session has its role's identity policies. */
  private identity(caller: Caller): Identity {
    return this.directory.identity(caller.roleArn ?? caller.arn);
  }

  /** `action` is the full IAM action name, service prefix included. */
  private request(caller: Caller, action: string, resource: string, facts: RequestFacts): AccessRequest {
    const values = requestValues({
      principal: caller.roleArn ?? caller.arn,
      principalTags: caller.tags,
      account: caller.account,
      region: this.ctx.region,
      encryptionContext: facts.encryptionContext,
      extra: facts.conditions,
    });
    return { principal: caller.arn, role: caller.roleArn, account: caller.account, action, resource, values };
  }

  private keyPolicy(document: string): Policy {
    let policy = this.policies.get(document);
    if (!policy) {
      policy = parsePolicy(document, 'key');
      if (this.policies.size >= POLICY_CACHE_LIMIT) this.policies.clear();
      this.policies.set(document, policy);
    }
    return policy;
  }

  private async grantAllows(caller: Caller, action: string, key: KeyRecord, facts: RequestFacts): Promise<boolean> {
    const grants = await granteeGrants(this.ctx.store, key.keyId, caller.arn);
    if (caller.roleArn !== undefined) grants.push(...(await granteeGrants(this.ctx.store, key.keyId, caller.roleArn)));
    return grants.some((grant) => {
      if (!grantPermits(grant, action, isSymmetric(key.keySpec), facts.encryptionContext)) return false;
      if (action !== 'CreateGrant') return true;
      const requested = facts.conditions?.['kms:GrantOperations'] ?? [];
      const constraintType = facts.conditions?.['kms:GrantConstraintType'];
      return derivedGrantWithin(
        grant,
        typeof requested === 'string' ? [requested] : requested,
        typeof constraintType === 'string' ? constraintType : undefined,
        facts.encryptionContext,
      );
    });
  }
}

/** AccessDeniedException in AWS's words, naming which kind of policy refused. */
function accessDenied(request: AccessRequest, verdict: Verdict & { allowed: false }): KmsError {
  const kind = verdict.by === 'resource' ? 'resource-based' : 'identity-based';
  const why = verdict.explicitDeny
    ? `with an explicit deny in ${verdict.by === 'resource' ? 'a' : 'an'} ${kind} policy`
    : `because no ${kind} policy allows the ${request.action} action`;
  return new KmsError(
    'AccessDeniedException',
    `User: ${request.principal} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
  );
}
