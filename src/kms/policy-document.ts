import { parsePolicy } from './policy/parse-policy.ts';

/**
 * Refuses a key policy that is not valid in the IAM policy language. Checks that need the
 * caller (principals that exist, the lockout check) are OperationDeps.checkKeyPolicy.
 */
export function checkPolicyDocument(policy: string): void {
  parsePolicy(policy, 'key');
}
