import type { Caller } from '../../kms/index.ts';
import type { AccessKey } from './sigv4.ts';

/** The caller an authenticated access key speaks for: its principal and that principal's account. */
export const callerOf = (accessKey: AccessKey): Caller => ({ account: accessKey.principal.split(':')[4] ?? '', arn: accessKey.principal });
