import type { Caller } from '../../kms/index.ts';
import type { AccessKey } from './sigv4.ts';

/** The caller an authenticated access key speaks for: its principal, that principal's account and, for a role session, its role and tags. */
export function callerOf({ principal, session }: AccessKey): Caller {
  const caller: Caller = { account: principal.split(':')[4] ?? '', arn: principal };
  if (session?.roleArn !== undefined) caller.roleArn = session.roleArn;
  if (session?.tags !== undefined) caller.tags = session.tags;
  return caller;
}
