export { IamTokens, APIKEY_GRANT, iamIdOf, type BearerIdentity, type IamTokensOptions, type IssuedTokens, type TokenResponse } from './iam-tokens.ts';
export { type ApiKey, type NewApiKey } from './api-keys.ts';
export { IamError } from './iam-error.ts';
export { iamSecretRecords } from './iam-secrets.ts';
