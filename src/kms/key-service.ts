import { aliasOperations } from './alias-operations.ts';
import { asymmetricOperations } from './asymmetric-operations.ts';
import { cryptographicOperations } from './cryptographic-operations.ts';
import { expireImportedMaterial, importOperations } from './import-operations.ts';
import { KeyRepository } from './key-repository.ts';
import { lifecycleOperations, sweepDeletedKeys } from './lifecycle-operations.ts';
import { macOperations } from './mac-operations.ts';
import { authorizeByAccount, type Operation, type OperationDeps, type Operations } from './operation.ts';
import type { RegionContext } from './region-context.ts';
import { rotateDueKeys, rotationOperations } from './rotation-operations.ts';
import { tagAndPolicyOperations } from './tag-and-policy-operations.ts';

export interface KeyServiceOptions extends Omit<RegionContext, 'now'> {
  now?: () => number;
}

/** A region's AWS KMS operations, by their TrentService names. */
export class KeyService {
  readonly ctx: RegionContext;
  private readonly deps: OperationDeps;
  private readonly operations: Operations;

  constructor(options: KeyServiceOptions) {
    this.ctx = { ...options, now: options.now ?? Date.now };
    const keys = new KeyRepository(this.ctx);
    this.deps = { ctx: this.ctx, keys, authorize: authorizeByAccount(this.ctx) };
    this.operations = {
      ...lifecycleOperations(this.deps),
      ...cryptographicOperations(this.deps),
      ...asymmetricOperations(this.deps),
      ...macOperations(this.deps),
      ...aliasOperations(this.deps),
      ...tagAndPolicyOperations(this.deps),
      ...rotationOperations(this.deps),
      ...importOperations(this.deps),
    };
  }

  operation(name: string): Operation | undefined {
    return Object.hasOwn(this.operations, name) ? this.operations[name] : undefined;
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
