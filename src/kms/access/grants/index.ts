export { grantOperations } from './grant-operations.ts';
export { derivedGrantWithin, grantPermits, parseGrantToken } from './grant-record.ts';
export { addGrant, granteeGrants, GRANTS_PER_KEY, indexStoredGrants, removeKeyGrants } from './grant-store.ts';
