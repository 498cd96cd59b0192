export { deepFreeze } from './deep-freeze.ts';
export { makePrivateDir, makePrivateFile } from './make-private-dir.ts';
export { writeSecretFile } from './write-secret-file.ts';
export { NodeSha256 } from './node-sha256.ts';
