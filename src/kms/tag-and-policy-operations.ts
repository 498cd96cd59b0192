import { KmsError } from '../errors/index.ts';
import { requireNotPendingDeletion } from './key-state-errors.ts';
import type { GetKeyPolicyResponse, ListKeyPoliciesResponse, ListResourceTagsResponse, NoOutput } from './kms-api.ts';
import type { OperationDeps, Operations } from './operation.ts';
import { pageOf } from './paging.ts';
import { keyArn } from './region-context.ts';
import { mergeTags } from './tags.ts';
import { updateKey } from './update-key.ts';

const LIST_TAGS_DEFAULT_LIMIT = 50;
const POLICY_NAME = 'default';

export function tagAndPolicyOperations(deps: OperationDeps): Operations<
  | 'TagResource'
  | 'UntagResource'
  | 'ListResourceTags'
  | 'GetKeyPolicy'
  | 'PutKeyPolicy'
  | 'ListKeyPolicies'
> {
  const { ctx, keys, authorize } = deps;
  const checkPolicyName = (name: string | undefined): void => {
    if (name !== undefined && name !== POLICY_NAME) throw new KmsError('NotFoundException', `Policy ${name} does not exist.`);
  };

  return {
    async TagResource(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'TagResource', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        key.tags = mergeTags(key.tags, input.Tags);
      });
      return {};
    },

    async UntagResource(input, caller): Promise<NoOutput> {
      await updateKey(deps, input.KeyId, caller, 'UntagResource', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        const removed = new Set<string>(input.TagKeys);
        key.tags = key.tags.filter((tag) => !removed.has(tag.TagKey));
      });
      return {};
    },

    async ListResourceTags(input, caller): Promise<ListResourceTagsResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListResourceTags', key);
      const limit: number = input.Limit ?? LIST_TAGS_DEFAULT_LIMIT;
      const sorted = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : 1));
      const marker = input.Marker;
      const start = marker === undefined ? 0 : sorted.findIndex((tag) => tag.TagKey > marker);
      const rest = start < 0 ? [] : sorted.slice(start);
      const { page, ...more } = pageOf(rest, limit, (tag) => tag.TagKey);
      return { Tags: page, ...more };
    },

    async GetKeyPolicy(input, caller): Promise<GetKeyPolicyResponse> {
      checkPolicyName(input.PolicyName);
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'GetKeyPolicy', key);
      return { Policy: key.policy, PolicyName: POLICY_NAME };
    },

    async PutKeyPolicy(input, caller): Promise<NoOutput> {
      checkPolicyName(input.PolicyName);
      await updateKey(deps, input.KeyId, caller, 'PutKeyPolicy', (key) => {
        deps.checkKeyPolicy(input.Policy, caller, key.keyId, input.BypassPolicyLockoutSafetyCheck === true);
        key.policy = input.Policy;
      });
      return {};
    },

    async ListKeyPolicies(input, caller): Promise<ListKeyPoliciesResponse> {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListKeyPolicies', key);
      return { PolicyNames: [POLICY_NAME], Truncated: false };
    },
  };
}
