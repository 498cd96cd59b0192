export { catalogue, type ErrorName } from './catalogue.ts';
export { KmsError, kmsError } from './kms-error.ts';
