import { KmsError } from '../errors/index.ts';
import type { KeyEvents } from './key-events.ts';
// The files rather than keys/index.ts: keys/ (updateKey, changeDueKeys) builds on the contract this file defines.
import type { KeyRecord } from './keys/key-record.ts';
import type { KeyRepository } from './keys/key-repository.ts';
import type { KmsApi, RecipientInfo } from './kms-api.ts';
import type { Caller, RegionContext } from './region-context.ts';

/** An AWS KMS operation's name; its request and response are in kms-api.ts, generated from the AWS model. */
export type OperationName = keyof KmsApi;
/** The operations the key service gets from the module that keeps multi-Region keys in concord. */
export type MultiRegionOperationName = 'ReplicateKey' | 'UpdatePrimaryRegion';
export type Operation<Op extends OperationName> = (input: KmsApi[Op]['input'], caller: Caller) => Promise<KmsApi[Op]['output']>;
export type Operations<Name extends OperationName = OperationName> = { [Op in Name]: Operation<Op> };

/** What a request carries that policies and grants may put conditions on. */
export interface RequestFacts {
  encryptionContext?: Record<string, string>;
  grantTokens?: string[];
  /** Further condition keys of the request, e.g. kms:GrantOperations for CreateGrant. */
  conditions?: Record<string, string | readonly string[] | undefined>;
}

export interface OperationDeps {
  ctx: RegionContext;
  keys: KeyRepository;
  /** Throws AccessDeniedException unless the caller may perform `action` on `key`. */
  authorize: (caller: Caller, action: string, key: KeyRecord, facts?: RequestFacts) => void | Promise<void>;
  /** For actions on no particular key (CreateKey, ListKeys, ...): the caller's identity policies decide. */
  authorizeIdentity: (caller: Caller, action: string) => Promise<void>;
  /** Refuses a key policy that is malformed, names unknown principals, or locks the caller out (unless bypassed). */
  checkKeyPolicy: (policy: string, caller: Caller, keyId: string, bypassLockoutCheck: boolean) => void;
  /** Every change of a key record runs in `events.transaction` and publishes itself there. */
  events: KeyEvents;
  /** Present in a region with multi-Region keys. */
  importedMaterialBinder?: ImportedMaterialBinder;
  /** Present in a region with HSM clusters. */
  customKeyStores?: CustomKeyStoreKeys;
}

/** CreateKey's way into a custom key store: the key's material made on the store's cluster. */
export interface CustomKeyStoreKeys {
  createKey(customKeyStoreId: string, keyId: string): Promise<NonNullable<KeyRecord['customKeyStore']>>;
  connected(customKeyStoreId: string): Promise<boolean>;
}

/**
 * Asks a replica's primary which version imported material is bound to (new material proposed
 * for `version`, or material already bound); the primary may refuse it. Called before the
 * import's transaction, since it waits on another region.
 */
export type ImportedMaterialBinder = (replica: KeyRecord, materialId: string, version?: number) => Promise<number>;

/** AWS answers a successful DryRun with this error. */
export function finishDryRun(input: { DryRun?: boolean }): void {
  if (input.DryRun === true) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

/** Concord has no enclave attestation, so a request for a Recipient's ciphertext is refused rather than answered in plaintext. */
export function refuseRecipient(input: { Recipient?: RecipientInfo }): void {
  if (input.Recipient !== undefined) throw new KmsError('UnsupportedOperationException', 'Recipient attestation is not supported by Concord.');
}

export const toEpochSeconds = (ms: number): number => ms / 1000;
