export { deepFreeze } from './deep-freeze.ts';
export { writeSecretFile } from './write-secret-file.ts';
