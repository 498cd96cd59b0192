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
export { KeystoreUnreachableError } from './keystore-adapter.ts';
export { Pkcs11Adapter, WRAPPING_KEY_LABEL } from './pkcs11-adapter.ts';
export { encZero } from './key-material.ts';
