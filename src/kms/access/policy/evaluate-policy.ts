import { conditionsHold, type ConditionValues } from './conditions.ts';
import type { Policy, PrincipalSet, Statement } from './parse-policy.ts';
import { wildcardMatch } from './wildcard.ts';

/** One request as policies see it. */
export interface AccessRequest {
  principal: string;
  /** For a role session, the role: a policy naming the role names each of its sessions. */
  role?: string | undefined;
  account: string;
  /** With its service prefix, e.g. kms:Encrypt. */
  action: string;
  resource: string;
  values: ConditionValues;
}

/** The caller's own permissions: an account root may do anything in its account. */
export interface Identity {
  root: boolean;
  policies: readonly Policy[];
}

export type Verdict = { allowed: true } | { allowed: false; explicitDeny: boolean; by: 'resource' | 'identity' };

/**
 * AWS's evaluation: an explicit Deny in either policy wins; otherwise the key policy must
 * allow the caller directly, or allow the account (delegating to IAM) while an identity policy
 * allows the caller. A caller from another account always needs its identity policy too.
 */
export function evaluateKeyAccess(keyPolicy: Policy, identity: Identity, request: AccessRequest): Verdict {
  let direct = false;
  let delegated = false;
  for (const statement of keyPolicy.statements) {
    if (!applies(statement, request)) continue;
    const match = principalMatch(statement, request);
    if (match === 'none') continue;
    if (statement.effect === 'Deny') return { allowed: false, explicitDeny: true, by: 'resource' };
    if (match === 'direct') direct = true;
    else delegated = true;
  }
  const own = identityEffect(identity, request);
  if (own === 'deny') return { allowed: false, explicitDeny: true, by: 'identity' };
  const sameAccount = request.resource.split(':')[4] === request.account;
  if ((direct && sameAccount) || ((direct || delegated) && own === 'allow')) return { allowed: true };
  return { allowed: false, explicitDeny: false, by: delegated || direct ? 'identity' : 'resource' };
}

/** For actions on no particular key (CreateKey, ListKeys, ...): the identity policies alone decide. */
export function evaluateIdentityAccess(identity: Identity, request: AccessRequest): Verdict {
  const own = identityEffect(identity, request);
  if (own === 'allow') return { allowed: true };
  return { allowed: false, explicitDeny: own === 'deny', by: 'identity' };
}

function identityEffect(identity: Identity, request: AccessRequest): 'allow' | 'deny' | 'none' {
  let allowed = identity.root;
  for (const policy of identity.policies) {
    for (const statement of policy.statements) {
      if (!applies(statement, request)) continue;
      if (statement.effect === 'Deny') return 'deny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'none';
}

function applies(statement: Statement, request: AccessRequest): boolean {
  return (
    listed(statement.actions, statement.notActions, request.action, true) &&
    listed(statement.resources, statement.notResources, request.resource, false) &&
    conditionsHold(statement.conditions, request.values, statement.effect)
  );
}

function listed(patterns: readonly string[] | undefined, notPatterns: readonly string[] | undefined, value: string, ignoreCase: boolean): boolean {
  return patterns ? anyMatch(patterns, value, ignoreCase) : !anyMatch(notPatterns ?? [], value, ignoreCase);
}

/** A module function rather than a closure in `listed`: this runs for every statement of every request. */
const anyMatch = (patterns: readonly string[], value: string, ignoreCase: boolean): boolean =>
  patterns.some((pattern) => wildcardMatch(pattern, value, ignoreCase));

/**
 * 'direct' when the statement names the caller (or everyone); 'account' when it names only
 * the caller's account root, which for another principal of that account delegates to IAM.
 */
function principalMatch(statement: Statement, request: AccessRequest): 'direct' | 'account' | 'none' {
  if (statement.notPrincipal) return setMatch(statement.notPrincipal, request) === 'none' ? 'direct' : 'none';
  return statement.principal ? setMatch(statement.principal, request) : 'none';
}

function setMatch(set: PrincipalSet, request: AccessRequest): 'direct' | 'account' | 'none' {
  if (set.any || set.arns.includes(request.principal) || (request.role !== undefined && set.arns.includes(request.role))) return 'direct';
  return set.arns.includes(`arn:aws:iam::${request.account}:root`) ? 'account' : 'none';
}
