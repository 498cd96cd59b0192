export { expireImportedMaterial, importOperations } from './import-operations.ts';
export { importParametersRecords } from './import-parameters.ts';
export { bindForReplica } from './material-bindings.ts';
