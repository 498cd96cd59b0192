export { AccessControl } from './access-control.ts';
export { PrincipalDirectory, type PrincipalConfig } from './principal-directory.ts';
export { checkIdentityPolicy, checkPolicyDocument, checkTrustPolicy } from './policy-document.ts';
export { defaultKeyPolicy } from './default-policy.ts';
export { keyPolicyOperations } from './key-policy-operations.ts';
export { addGrant, grantOperations, GRANTS_PER_KEY, indexStoredGrants, removeKeyGrants } from './grants/index.ts';
