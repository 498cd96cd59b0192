import { KmsError } from '../errors/index.ts';
import type { KeyRecord } from './key-record.ts';
import type { KeyRepository } from './key-repository.ts';
import { keyArn, type Caller, type RegionContext } from './region-context.ts';

/** An operation's request and response in the AWS KMS JSON shape (blobs as Buffers). */
export type Input = Record<string, any>;
export type Output = Record<string, unknown>;
export type Operation = (input: Input, caller: Caller) => Promise<Output>;
export type Operations = Record<string, Operation>;

/** What a request carries that policies and grants may put conditions on. */
export interface RequestFacts {
  encryptionContext?: Record<string, string>;
  grantTokens?: string[];
}

export interface OperationDeps {
  ctx: RegionContext;
  keys: KeyRepository;
  /** Throws AccessDeniedException unless the caller may perform `action` on `key`. */
  authorize(caller: Caller, action: string, key: KeyRecord, facts?: RequestFacts): void | Promise<void>;
}

/**
 * The region's account owns every key, and its principals may use them. Key policies and
 * grants refine this per key.
 */
export function authorizeByAccount(ctx: RegionContext) {
  return (caller: Caller, action: string, key: KeyRecord): void => {
    if (caller.account === key.account) return;
    throw new KmsError(
      'AccessDeniedException',
      `User: ${caller.arn} is not authorized to perform: kms:${action} on resource: ${keyArn(ctx, key.keyId)} because no resource-based policy allows the kms:${action} action`,
    );
  };
}

/** AWS answers a successful DryRun with this error. */
export function finishDryRun(input: Input): void {
  if (input.DryRun === true) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

export const toEpochSeconds = (ms: number): number => ms / 1000;
