import { requireNotPendingDeletion, updateKey } from '../keys/index.ts';
import type { OperationDeps, Operations } from '../operation.ts';
import { pageOf } from '../paging.ts';
import { keyArn } from '../region-context.ts';
import { mergeTags } from './tags.ts';

const LIST_TAGS_DEFAULT_LIMIT = 50;

export function tagOperations(deps: OperationDeps): Operations {
  const { ctx, keys, authorize } = deps;

  return {
    async TagResource(input, caller) {
      await updateKey(deps, input.KeyId, caller, 'TagResource', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        key.tags = mergeTags(key.tags, input.Tags);
      });
      return {};
    },

    async UntagResource(input, caller) {
      await updateKey(deps, input.KeyId, caller, 'UntagResource', (key) => {
        requireNotPendingDeletion(keyArn(ctx, key.keyId), key.state);
        const removed = new Set<string>(input.TagKeys);
        key.tags = key.tags.filter((tag) => !removed.has(tag.TagKey));
      });
      return {};
    },

    async ListResourceTags(input, caller) {
      const key = await keys.find(input.KeyId, { allowAlias: false });
      await authorize(caller, 'ListResourceTags', key);
      const limit: number = input.Limit ?? LIST_TAGS_DEFAULT_LIMIT;
      const sorted = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : 1));
      const start = input.Marker === undefined ? 0 : sorted.findIndex((tag) => tag.TagKey > input.Marker);
      const rest = start < 0 ? [] : sorted.slice(start);
      const { page, ...more } = pageOf(rest, limit, (tag) => tag.TagKey);
      return { Tags: page, ...more };
    },
  };
}
