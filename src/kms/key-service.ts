import { KmsError } from '../errors/index.ts';
import { AccessControl, grantOperations, indexStoredGrants, keyPolicyOperations, PrincipalDirectory, type PrincipalConfig } from './access/index.ts';
import { aliasOperations } from './aliases/alias-operations.ts';
import { asymmetricOperations } from './crypto-ops/asymmetric-operations.ts';
import { cryptographicOperations } from './crypto-ops/cryptographic-operations.ts';
import { macOperations } from './crypto-ops/mac-operations.ts';
import { expireImportedMaterial, importOperations } from './import/index.ts';
import { CustomKeyStores, type CloudHsmClusters, type CustomKeyStoreOperationName } from './custom-key-stores/index.ts';
import { KeyEvents } from './key-events.ts';
import { KeyRepository } from './keys/index.ts';
import { lifecycleOperations, sweepDeletedKeys } from './lifecycle/lifecycle-operations.ts';
import type { KmsApi } from './kms-api.ts';
import type { ImportedMaterialBinder, MultiRegionOperationName, OperationDeps, OperationName, Operations } from './operation.ts';
import type { Caller, RegionContext } from './region-context.ts';
import { rotateDueKeys, rotateKeyNow, rotationOperations } from './rotation/rotation-operations.ts';
import { tagOperations } from './tags/index.ts';

export interface KeyServiceOptions extends Omit<RegionContext, 'now'> {
  now?: () => number;
  /** The account's IAM principals and their identity policies; the account root needs no entry. */
  principals?: readonly PrincipalConfig[];
  /** How a replica's imported material is bound by its primary, in a region with multi-Region keys. */
  importedMaterialBinder?: ImportedMaterialBinder;
  /** Operations another module adds on the same dependencies (ReplicateKey, UpdatePrimaryRegion). */
  moreOperations?: (deps: OperationDeps) => Operations<MultiRegionOperationName>;
  /** The region's HSM clusters, where custom key stores keep their keys; without them there are no custom key stores. */
  cloudHsmClusters?: CloudHsmClusters;
}

/** A region's AWS KMS operations, by their TrentService names. */
export class KeyService {
  readonly ctx: RegionContext;
  /** Throws AccessDeniedException unless the caller's identity policies allow `concord:<action>`. */
  readonly authorizeManagement: (caller: Caller, action: string) => Promise<void>;
  /** Every change of a key; the composition root subscribes the modules that take part in them. */
  readonly events: KeyEvents;
  /** Throws AccessDeniedException unless the role's trust policy (and the caller's identity policies where it delegates) allow the caller to assume it. */
  readonly authorizeAssumeRole: AccessControl['authorizeAssumeRole'];
  /** Throws AccessDeniedException unless the caller's identity policies allow `kms:<action>`: for keys that are not KMS keys (Key Protect's standard keys). */
  readonly authorizeIdentity: (caller: Caller, action: string) => Promise<void>;
  /** Throws AccessDeniedException unless the caller's identity policies allow `sts:<action>`. */
  readonly authorizeSts: (caller: Caller, action: string) => Promise<void>;
  /** Throws AccessDeniedException unless the caller's identity policies allow `uko:<action>`. */
  readonly authorizeUko: (caller: Caller, action: string) => Promise<void>;
  /** Throws AccessDeniedException unless the caller's identity policies allow `cloudhsm:<action>` on `resource`. */
  readonly authorizeCloudHsm: (caller: Caller, action: string, resource: string) => Promise<void>;
  private readonly deps: OperationDeps;
  /** The multi-Region operations only when a multi-Region module added them. */
  private readonly operations: Partial<Operations>;

  constructor(options: KeyServiceOptions) {
    const { principals = [], now = Date.now, importedMaterialBinder, moreOperations, cloudHsmClusters, ...context } = options;
    this.ctx = { ...context, now };
    this.events = new KeyEvents(this.ctx.store);
    const customKeyStores = cloudHsmClusters && new CustomKeyStores(this.ctx, cloudHsmClusters);
    const keys = new KeyRepository(this.ctx, customKeyStores && ((key) => customKeyStores.material(key)));
    const access = new AccessControl(this.ctx, new PrincipalDirectory(this.ctx.account, principals));
    this.authorizeManagement = access.authorizeManagement;
    this.authorizeAssumeRole = access.authorizeAssumeRole;
    this.authorizeSts = access.authorizeSts;
    this.authorizeIdentity = access.authorizeIdentity;
    this.authorizeUko = access.authorizeUko;
    this.authorizeCloudHsm = access.authorizeCloudHsm;
    this.deps = {
      ctx: this.ctx,
      keys,
      authorize: access.authorize,
      authorizeIdentity: access.authorizeIdentity,
      checkKeyPolicy: access.checkKeyPolicy,
      events: this.events,
      importedMaterialBinder,
      customKeyStores,
    };
    const own: Operations<Exclude<OperationName, MultiRegionOperationName | CustomKeyStoreOperationName>> = {
      ...lifecycleOperations(this.deps),
      ...cryptographicOperations(this.deps),
      ...asymmetricOperations(this.deps),
      ...macOperations(this.deps),
      ...aliasOperations(this.deps),
      ...tagOperations(this.deps),
      ...keyPolicyOperations(this.deps),
      ...grantOperations(this.deps),
      ...rotationOperations(this.deps),
      ...importOperations(this.deps),
    };
    this.operations = { ...own, ...moreOperations?.(this.deps), ...customKeyStores?.operations(this.deps, access.authorizeCloudHsm) };
  }

  /** Whether this service performs the operation a surface was asked for by name. */
  performs(name: string): name is OperationName {
    return Object.hasOwn(this.operations, name);
  }

  /** Performs an operation for `caller`: the typed face of the domain that every API surface calls. */
  call<Op extends OperationName>(name: Op, input: KmsApi[Op]['input'], caller: Caller): Promise<KmsApi[Op]['output']> {
    const operation = this.operations[name];
    if (!operation) return Promise.reject(new KmsError('UnknownOperationException', `The operation ${name} is not known to this service.`));
    return operation(input, caller);
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

  /**
   * Throws AccessDeniedException unless the key's policy, the caller's identity policies (and
   * grants, for grant operations) allow `kms:<action>` on the key: for another surface's
   * operations on a KMS key that no KMS operation performs (Key Protect's key policies).
   */
  async authorizeKey(caller: Caller, action: string, keyId: string): Promise<void> {
    await this.deps.authorize(caller, action, await this.deps.keys.find(keyId, { allowAlias: false }));
  }

  /** Rotates one key now as an automatic rotation, for a schedule another module keeps (Key Protect's rotation policies); false when the key is not Enabled. */
  rotateKeyNow(keyId: string): Promise<boolean> {
    return rotateKeyNow(this.deps, keyId);
  }

  /** Background work: deletes imported key material whose ValidTo has passed. */
  expireImportedMaterial(): Promise<number> {
    return expireImportedMaterial(this.deps);
  }
}
