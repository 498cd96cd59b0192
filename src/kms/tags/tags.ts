import { KmsError } from '../../errors/index.ts';
import type { Tag } from '../keys/index.ts';

const MAX_TAGS_PER_KEY = 50;

/** Checks tags a caller supplies: no reserved prefix, no key twice, no more than a key may have. */
export function checkTags(tags: Tag[]): void {
  if (tags.length > MAX_TAGS_PER_KEY) {
    throw new KmsError('LimitExceededException', `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
  }
  const seen = new Set<string>();
  for (const { TagKey } of tags) {
    if (TagKey.startsWith('aws:')) throw new KmsError('TagException', `Tag key '${TagKey}' uses the reserved prefix aws:`);
    if (seen.has(TagKey)) throw new KmsError('TagException', `Tag key '${TagKey}' appears more than once`);
    seen.add(TagKey);
  }
}

/** Applies tags over existing ones, the way TagResource replaces values of existing keys. */
export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  checkTags(added);
  const merged = new Map(existing.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) merged.set(t.TagKey, t.TagValue);
  if (merged.size > MAX_TAGS_PER_KEY) {
    throw new KmsError('LimitExceededException', `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
  }
  return [...merged].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}
