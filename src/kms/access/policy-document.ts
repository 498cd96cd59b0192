import { parseNewKeyPolicy, parsePolicy } from './policy/parse-policy.ts';

/**
 * Refuses a key policy over AWS's size quota or not valid in the IAM policy language. Checks
 * that need the caller (principals that exist, the lockout check) are OperationDeps.checkKeyPolicy.
 */
export function checkPolicyDocument(policy: string): void {
  parseNewKeyPolicy(policy);
}

/** Refuses an identity policy (a principal's inline policy in the region config) AWS IAM would refuse. */
export function checkIdentityPolicy(policy: unknown): void {
  parsePolicy(policy, 'identity');
}

/** Refuses a role's trust policy (in the region config) AWS IAM would refuse. */
export function checkTrustPolicy(policy: unknown): void {
  parsePolicy(policy, 'trust');
}
