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
  arn: string;
}

export const keyArn = (ctx: Pick<RegionContext, 'region' | 'account'>, keyId: string): string =>
  `arn:aws:kms:${ctx.region}:${ctx.account}:key/${keyId}`;

export const aliasArn = (ctx: Pick<RegionContext, 'region' | 'account'>, aliasName: string): string =>
  `arn:aws:kms:${ctx.region}:${ctx.account}:${aliasName}`;
