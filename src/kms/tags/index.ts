export { tagAndPolicyOperations } from './tag-operations.ts';
export { checkTags } from './tags.ts';
