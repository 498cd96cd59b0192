export { KeyProtectService, DEFAULT_SYNC_INTERVAL_MS, REGISTRATION_ACTION, type KeyProtectServiceOptions } from './key-protect-service.ts';
export { KpError, type KpReason } from './kp-error.ts';
export { instanceIdOf, standardKeyRecords, KP_STATE, type KpState } from './kp-records.ts';
export { kpErrorOf, type KpCaller, type KpKey, type KeyQuery } from './key-protect.ts';
export { NOTIFICATION_TOPIC, type Notification, type NotificationSigner } from './notifications.ts';
export type { Registration, RegistrationQuery } from './registrations.ts';
export { importTokenRecords } from './import-tokens.ts';
export { KEY_POLICY_NAMES, POLICY_TYPE } from './key-policies.ts';
export { INSTANCE_POLICY_NAMES } from './instance-policies.ts';
