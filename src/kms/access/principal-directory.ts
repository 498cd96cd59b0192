import type { Identity } from './policy/evaluate-policy.ts';
import { parsePolicy, type Policy } from './policy/parse-policy.ts';

/** A principal of the region's account as the region config declares it. */
export interface PrincipalConfig {
  arn: string;
  /** Inline IAM policy documents (JSON objects) attached to the principal. */
  identityPolicies?: readonly unknown[];
  /** For a role: who may assume it (a JSON policy document). */
  trustPolicy?: unknown;
}

const ROOT = /^arn:aws:iam::(\d{12}):root$/;
const ASSUMED_ROLE = /^arn:aws:sts::\d{12}:assumed-role\/([^/]+)\/[^/]+$/;

/**
 * The IAM side of the region's account: which principals exist and which identity policies
 * they carry. Principals of other accounts cannot be known here, so they are taken on trust.
 */
export class PrincipalDirectory {
  private readonly identities = new Map<string, Identity>();
  private readonly trustPolicies = new Map<string, Policy>();

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
      if (principal.trustPolicy !== undefined) this.trustPolicies.set(principal.arn, parsePolicy(principal.trustPolicy, 'trust'));
    }
  }

  /** The trust policy of a role of the account; undefined for anything else. */
  trustPolicy(roleArn: string): Policy | undefined {
    return this.trustPolicies.get(roleArn);
  }

  /** The caller's own permissions; a principal nobody declared has none. */
  identity(arn: string): Identity {
    if (ROOT.exec(arn)?.[1] === this.account) return { root: true, policies: [] };
    return this.identities.get(arn) ?? { root: false, policies: [] };
  }

  /** Whether a key policy may name this principal. */
  exists(arn: string): boolean {
    if (ROOT.test(arn)) return true;
    if (arn.split(':')[4] !== this.account) return true;
    // A role session's ARN names a session of a role that exists.
    const session = ASSUMED_ROLE.exec(arn);
    return this.identities.has(session ? `arn:aws:iam::${this.account}:role/${session[1]}` : arn);
  }
}
