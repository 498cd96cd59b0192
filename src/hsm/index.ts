export {
  CLOUDHSM_OPERATIONS,
  CloudHsmService,
  type Authorize,
  type BackupCopier,
  type BackupTransfer,
  type CloudHsmOperation,
  type CloudHsmOptions,
} from './cloud-hsm-service.ts';
export { CloudHsmError, type CloudHsmErrorCode } from './hsm-error.ts';
export { lineageKeyRecords } from './lineage-keys.ts';
