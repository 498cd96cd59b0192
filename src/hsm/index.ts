export {
  CLOUDHSM_OPERATIONS,
  CloudHsmService,
  type Authorize,
  type BackupCopier,
  type BackupTransfer,
  type CloudHsmOperation,
  type CloudHsmOptions,
  type HsmCredentials,
  type SyncedKey,
} from './cloud-hsm-service.ts';
export { generateSymmetricKey, keysOf, shareKey, type PortableKey } from './hsm-keys.ts';
export { CloudHsmError, type CloudHsmErrorCode } from './hsm-error.ts';
export { KmsKeyStoreClusters } from './kms-key-store-clusters.ts';
export { HsmVault } from './hsm-vault.ts';
export { lineageKeyRecords } from './lineage-keys.ts';
export { DEFAULT_PRECO_PASSWORD, type HsmContents, type HsmKey, type HsmUser, type HsmUserType } from './hsm-contents.ts';
export { changePassword, createUser, deleteUser, HsmUserError, login, MAX_LOGIN_FAILURES } from './hsm-users.ts';
export { HsmShell, HsmShellError, type ActorSeen, type HsmAddress, type HsmShellActor, type HsmShellErrorKind } from './hsm-shell.ts';
export type { KeyAttribute } from './hsm-key-commands.ts';
