import { KmsError } from '../../errors/index.ts';
import { updateKey } from '../keys/index.ts';
import type { OperationDeps, Operations } from '../operation.ts';

/** A key has one policy, and AWS names it `default`. */
const POLICY_NAME = 'default';

export function keyPolicyOperations(deps: OperationDeps): Operations {
  const { keys, authorize } = deps;
  const checkPolicyName = (name: string | undefined): void => {
    if (name !== undefined && name !== POLICY_NAME) throw new KmsError('NotFoundException', `Policy ${name} does not exist.`);
  };

  return {
    async GetKeyPolicy(input, caller) {
      checkPolicyName(input.PolicyName);
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'GetKeyPolicy', key);
      return { Policy: key.policy, PolicyName: POLICY_NAME };
    },

    async PutKeyPolicy(input, caller) {
      checkPolicyName(input.PolicyName);
      await updateKey(deps, input.KeyId, caller, 'PutKeyPolicy', (key) => {
        deps.checkKeyPolicy(input.Policy, caller, key.keyId, input.BypassPolicyLockoutSafetyCheck === true);
        key.policy = input.Policy;
      });
      return {};
    },

    async ListKeyPolicies(input, caller) {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListKeyPolicies', key);
      return { PolicyNames: [POLICY_NAME], Truncated: false };
    },
  };
}
