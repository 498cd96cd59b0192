import type { CryptoUnit } from '../cryptounits/index.ts';
import type { Store } from '../store/index.ts';

/** Everything a key operation needs from its region, passed in rather than imported. */
export interface RegionContext {
  region: string;
  account: string;
  store: Store;
  unit: CryptoUnit;
  /** Milliseconds since the epoch; replaceable so tests can move time. */
  now: () => number;
}

/** Who is calling, as established by the API surface's authentication. */
export interface Caller {
  account: string;
  /** As AWS reports the caller: a user's or role's ARN, or arn:aws:sts::<account>:assumed-role/<role>/<session>. */
  arn: string;
  /** For a role session: the role's ARN, whose identity policies apply and which policies and grants may name. */
  roleArn?: string;
  /** Session tags of a role session: aws:PrincipalTag/<key>. */
  tags?: Readonly<Record<string, string>>;
}

export const keyArn = (ctx: Pick<RegionContext, 'region' | 'account'>, keyId: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:key/${keyId}`;

export const aliasArn = (ctx: Pick<RegionContext, 'region' | 'account'>, aliasName: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:${aliasName}`;

/** Whether `arn` names the caller: its own ARN or, for a role session, its role's (as a grant or policy naming a role covers its sessions). */
export const callerIs = (caller: Caller, arn: string | undefined): boolean => arn !== undefined && (arn === caller.arn || arn === caller.roleArn);
