import type { Identity } from './policy/evaluate-policy.ts';
import { parsePolicy } from './policy/parse-policy.ts';

/** A principal of the region's account as the region config declares it. */
export interface PrincipalConfig {
  arn: string;
  /** Inline IAM policy documents (JSON objects) attached to the principal. */
  identityPolicies?: readonly unknown[];
}

const ROOT = /^arn:aws:iam::(\d{12}):root$/;

/**
 * The IAM side of the region's account: which principals exist and which identity policies
 * they carry. Principals of other accounts cannot be known here, so they are taken on trust.
 */
export class PrincipalDirectory {
  private readonly identities = new Map<string, Identity>();

  constructor(
    private readonly account: string,
    principals: readonly PrincipalConfig[],
  ) {
    for (const principal of principals) {
      const policies = (principal.identityPolicies ?? []).map((document, i) => {
        try {
          return parsePolicy(document, 'identity');
        } catch (error) {
          throw new Error(`identity policy ${i + 1} of ${principal.arn} is not valid: ${(error as Error).message}`);
        }
      });
      const known = this.identities.get(principal.arn)?.policies ?? [];
      this.identities.set(principal.arn, { root: false, policies: [...known, ...policies] });
    }
  }

  /** The caller's own permissions; a principal nobody declared has none. */
  identity(arn: string): Identity {
    if (ROOT.exec(arn)?.[1] === this.account) return { root: true, policies: [] };
    return this.identities.get(arn) ?? { root: false, policies: [] };
  }

  /** Whether a key policy may name this principal. */
  exists(arn: string): boolean {
    if (ROOT.test(arn)) return true;
    return arn.split(':')[4] !== this.account || this.identities.has(arn);
  }
}
