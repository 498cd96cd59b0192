export { Uko, type UkoOptions, type KeystoreHealth } from './uko.ts';
export { UkoError, type UkoErrorKind } from './uko-error.ts';
export { etagOf } from './etag.ts';
export type {
  Algorithm,
  KeyInKeystore,
  KeystoreRecord,
  KeystoreType,
  ManagedKeyRecord,
  ManagedKeyState,
  MaterialVersion,
  Stamped,
  TemplateRecord,
  VaultRecord,
} from './records.ts';
export { currentMaterial } from './records.ts';
