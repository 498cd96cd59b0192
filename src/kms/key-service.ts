import { AccessControl } from './access-control.ts';
import { aliasOperations } from './alias-operations.ts';
import { asymmetricOperations } from './asymmetric-operations.ts';
import { cryptographicOperations } from './cryptographic-operations.ts';
import { grantOperations } from './grant-operations.ts';
import { indexStoredGrants } from './grant-store.ts';
import { expireImportedMaterial, importOperations } from './import-operations.ts';
import { KeyRepository } from './key-repository.ts';
import { lifecycleOperations, sweepDeletedKeys } from './lifecycle-operations.ts';
import { macOperations } from './mac-operations.ts';
import type { KeyHooks, Operation, OperationDeps, Operations } from './operation.ts';
import { PrincipalDirectory, type PrincipalConfig } from './principal-directory.ts';
import type { Caller, RegionContext } from './region-context.ts';
import { rotateDueKeys, rotationOperations } from './rotation-operations.ts';
import { tagAndPolicyOperations } from './tag-and-policy-operations.ts';

export interface KeyServiceOptions extends Omit<RegionContext, 'now'> {
  now?: () => number;
  /** The account's IAM principals and their identity policies; the account root needs no entry. */
  principals?: readonly PrincipalConfig[];
  /** Another module's part in every key change (multi-Region replication). */
  hooks?: KeyHooks;
  /** Operations another module adds on the same dependencies (ReplicateKey, UpdatePrimaryRegion). */
  moreOperations?: (deps: OperationDeps) => Operations;
}

/** A region's AWS KMS operations, by their TrentService names. */
export class KeyService {
  readonly ctx: RegionContext;
  /** Throws AccessDeniedException unless the caller's identity policies allow `concord:<action>`. */
  readonly authorizeManagement: (caller: Caller, action: string) => Promise<void>;
  /** Throws AccessDeniedException unless the role's trust policy (and the caller's identity policies where it delegates) allow the caller to assume it. */
  readonly authorizeAssumeRole: AccessControl['authorizeAssumeRole'];
  /** Throws AccessDeniedException unless the caller's identity policies allow `sts:<action>`. */
  readonly authorizeSts: (caller: Caller, action: string) => Promise<void>;
  private readonly deps: OperationDeps;
  private readonly operations: Operations;

  constructor(options: KeyServiceOptions) {
    const { principals = [], now = Date.now, hooks, moreOperations, ...context } = options;
    this.ctx = { ...context, now };
    const keys = new KeyRepository(this.ctx);
    const access = new AccessControl(this.ctx, new PrincipalDirectory(this.ctx.account, principals));
    this.authorizeManagement = access.authorizeManagement;
    this.authorizeAssumeRole = access.authorizeAssumeRole;
    this.authorizeSts = access.authorizeSts;
    this.deps = { ctx: this.ctx, keys, authorize: access.authorize, authorizeIdentity: access.authorizeIdentity, checkKeyPolicy: access.checkKeyPolicy, hooks };
    this.operations = {
      ...lifecycleOperations(this.deps),
      ...cryptographicOperations(this.deps),
      ...asymmetricOperations(this.deps),
      ...macOperations(this.deps),
      ...aliasOperations(this.deps),
      ...tagAndPolicyOperations(this.deps),
      ...grantOperations(this.deps),
      ...rotationOperations(this.deps),
      ...importOperations(this.deps),
      ...moreOperations?.(this.deps),
    };
  }

  operation(name: string): Operation | undefined {
    return Object.hasOwn(this.operations, name) ? this.operations[name] : undefined;
  }

  /** Brings what an earlier version stored up to date (grants stored before the grantee index); run at start, before serving. */
  upgradeStoredData(): Promise<number> {
    return indexStoredGrants(this.ctx.store);
  }

  /** Background work: really deletes keys whose waiting period has passed. */
  sweep(): Promise<number> {
    return sweepDeletedKeys(this.deps);
  }

  /** Background work: rotates keys whose automatic rotation is due. */
  rotateDueKeys(): Promise<number> {
    return rotateDueKeys(this.deps);
  }

  /** Background work: deletes imported key material whose ValidTo has passed. */
  expireImportedMaterial(): Promise<number> {
    return expireImportedMaterial(this.deps);
  }
}
