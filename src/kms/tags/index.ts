export { tagOperations } from './tag-operations.ts';
export { checkTags } from './tags.ts';
