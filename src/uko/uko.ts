import { randomUUID } from 'node:crypto';
import type { CryptoUnit } from '../cryptounits/index.ts';
import type { WrappedRecords } from '../cryptounits/index.ts';
import type { Caller } from '../kms/index.ts';
import { enqueue, type Outbox, type OutboxEntry } from '../outbox/index.ts';
import type { Store, Transaction } from '../store/index.ts';
import { asBody, booleanField, DATE_OR_PERIOD, oneOf, stringField, stringList, vaultIdOf, type Body } from './fields.ts';
import { newMaterial, rewrapManagedKey } from './key-material.ts';
import { adapterOf, readConnection, rewrapKeystoreSecrets, type KeystoreRules } from './keystore-connections.ts';
import { KeystoreUnreachableError } from './keystore-adapter.ts';
import { Orchestrator } from './orchestrator.ts';
import {
  ALGORITHMS,
  KEYSTORE_TYPES,
  paths,
  type KeyInKeystore,
  type KeystoreRecord,
  type ManagedKeyRecord,
  type ManagedKeyState,
  type Stamped,
  type TemplateRecord,
  type VaultRecord,
} from './records.ts';
import { UkoRepository } from './uko-repository.ts';
import { invalidField, missingField, UkoError } from './uko-error.ts';

export interface UkoOptions {
  store: Store;
  unit: CryptoUnit;
  now?: () => number;
  /** The region's outbox, through which every change of a managed key reaches its keystores durably. */
  outbox?: Outbox;
  /** How long a keystore's status may age before the background verifier checks it again. */
  verifyIntervalMs?: number;
  /** The PKCS#11 libraries pkcs11 keystores may name (uko.pkcs11Modules); none by default. */
  pkcs11Modules?: readonly string[];
}

/** The outbox topic of keystore syncs: one message per managed key and keystore, to the keystore, in order per key (keys in parallel). */
export const KEYSTORE_TOPIC = 'uko-keystore';
const DEFAULT_VERIFY_INTERVAL_MS = 10 * 60 * 1000;

/** Bring this keystore (the message's destination) in line with the managed key. */
interface KeystoreMessage {
  managedKeyId: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;
const AES_SIZES = ['128', '192', '256'];

/** IBM's health of a keystore, as GET /keystores/{id}/status reports it. */
export interface KeystoreHealth {
  health_status: 'ok' | 'not_responding' | 'configuration_error';
  last_heartbeat: string;
  message: string;
}

/**
 * Unified Key Orchestrator: vaults, keystores (with their connections), key templates and
 * managed keys, whose copies it creates and keeps in the keystores of their template's groups.
 * Every change of a resource needs its current ETag (If-Match).
 */
export class Uko {
  readonly vaults: UkoRepository<VaultRecord>;
  readonly keystores: UkoRepository<KeystoreRecord>;
  readonly templates: UkoRepository<TemplateRecord>;
  readonly keys: UkoRepository<ManagedKeyRecord>;
  private readonly orchestrator: Orchestrator;
  private readonly unit: CryptoUnit;
  private readonly store: Store;
  private readonly now: () => string;
  private readonly clock: () => number;
  private readonly outbox: Outbox | undefined;
  private readonly verifyIntervalMs: number;
  private readonly rules: KeystoreRules;

  constructor(options: UkoOptions) {
    const { store, unit, now = Date.now, outbox, verifyIntervalMs = DEFAULT_VERIFY_INTERVAL_MS } = options;
    this.rules = { pkcs11Modules: options.pkcs11Modules ?? [] };
    this.unit = unit;
    this.store = store;
    this.clock = now;
    this.outbox = outbox;
    this.verifyIntervalMs = verifyIntervalMs;
    this.now = () => new Date(now()).toISOString();
    this.vaults = new UkoRepository(store, paths.vault, 'vault');
    this.keystores = new UkoRepository(store, paths.keystore, 'keystore');
    this.templates = new UkoRepository(store, paths.template, 'key_template');
    this.keys = new UkoRepository(store, paths.managedKey, 'managed_key');
    this.orchestrator = new Orchestrator({ unit, keys: this.keys, keystores: this.keystores, rules: this.rules, now: this.now });
    outbox?.register(KEYSTORE_TOPIC, (entry: OutboxEntry<KeystoreMessage>) => this.deliver(entry));
  }

  /**
   * Brings one keystore in line with one managed key, for the outbox: a keystore that cannot be
   * reached fails the delivery, so the outbox retries it with backoff until the keystore answers
   * (a destroy that failed while it was down completes once it returns); a refusal is recorded
   * as out_of_sync and not retried.
   */
  private async deliver(entry: OutboxEntry<KeystoreMessage>): Promise<{ done: true }> {
    const result = await this.orchestrator.syncKeystore(entry.body.managedKeyId, entry.destination);
    if (result?.syncFlagDetail === 'connection_error') throw new Error(result.error ?? 'the keystore cannot be reached');
    return { done: true };
  }

  /** Writes, with a change of the key, the outbox messages that carry it to each of its keystores. */
  private async queue(tx: Transaction, key: ManagedKeyRecord): Promise<ManagedKeyRecord> {
    const next = { ...key, syncSeq: key.syncSeq + 1 };
    if (this.outbox) {
      for (const instance of next.instances) {
        const body: KeystoreMessage = { managedKeyId: key.id };
        await enqueue(tx, { topic: KEYSTORE_TOPIC, destination: instance.keystoreId, partition: key.id, body, coalesce: key.id });
      }
    }
    return next;
  }

  /**
   * The change's own sync, answered to the caller; the outbox messages written with the change
   * are the durable copy of it, delivered after it (finding the keystores in line) or after a
   * crash or an unreachable keystore.
   */
  private syncNow(id: string): Promise<ManagedKeyRecord> {
    this.outbox?.kick();
    return this.orchestrator.sync(id);
  }

  /** The background verifier: verifies every key with a keystore status older than the interval; returns how many. */
  async verifyDue(): Promise<number> {
    const due = new Date(this.clock() - this.verifyIntervalMs).toISOString();
    let verified = 0;
    for (const key of await this.keys.list()) {
      if (!key.instances.some((instance) => (instance.checkedAt ?? '') < due)) continue;
      await this.orchestrator.verify(key.id);
      verified += 1;
    }
    return verified;
  }

  /** What a master key rotation re-wraps: keystore secrets and managed key material. */
  static readonly wrappedRecords: readonly WrappedRecords[] = [
    { prefix: paths.keystore(), rewrap: rewrapKeystoreSecrets },
    { prefix: paths.managedKey(), rewrap: rewrapManagedKey },
  ];

  private stamp(caller: Caller): Stamped {
    const at = this.now();
    return { id: randomUUID(), revision: 1, createdAt: at, updatedAt: at, createdBy: caller.arn, updatedBy: caller.arn };
  }

  private by(caller: Caller) {
    return { arn: caller.arn, at: this.now() };
  }

  // Vaults

  async createVault(input: unknown, caller: Caller): Promise<VaultRecord> {
    const body = asBody(input);
    const vault: VaultRecord = {
      ...this.stamp(caller),
      name: stringField(body, 'name', { required: true, max: 100 }),
      description: stringField(body, 'description', { max: 200 }) ?? '',
      recoveryKeyLabel: stringField(body, 'recovery_key_label', { max: 255 }),
    };
    return this.vaults.create(vault);
  }

  updateVault(id: string, ifMatch: string | undefined, input: unknown, caller: Caller): Promise<VaultRecord> {
    const body = asBody(input);
    return this.vaults.update(
      id,
      ifMatch,
      (vault) => ({
        ...vault,
        name: stringField(body, 'name', { max: 100 }) ?? vault.name,
        description: stringField(body, 'description', { max: 200 }) ?? vault.description,
        recoveryKeyLabel: stringField(body, 'recovery_key_label', { max: 255 }) ?? vault.recoveryKeyLabel,
      }),
      this.by(caller),
    );
  }

  async deleteVault(id: string, ifMatch: string | undefined): Promise<void> {
    const counts = await this.vaultCounts(id);
    await this.vaults.delete(id, ifMatch, () => {
      if (counts.keys + counts.templates + counts.keystores > 0) {
        throw new UkoError('conflict', 'vault_not_empty', 'The vault still holds managed keys, key templates or keystores');
      }
    });
  }

  async vaultCounts(vaultId: string): Promise<{ keys: number; templates: number; keystores: number }> {
    const [keys, templates, keystores] = await Promise.all([this.keys.list(), this.templates.list(), this.keystores.list()]);
    const inVault = (records: { vaultId: string }[]) => records.filter((r) => r.vaultId === vaultId).length;
    return { keys: inVault(keys), templates: inVault(templates), keystores: inVault(keystores) };
  }

  // Keystores

  /** Creates a keystore, or with `dryRun` only checks that the keystore answers with these connection details. */
  async createKeystore(input: unknown, dryRun: boolean, caller: Caller): Promise<KeystoreRecord> {
    const body = asBody(input);
    const type = oneOf(body, 'type', KEYSTORE_TYPES);
    const vaultId = vaultIdOf(body);
    await this.vaults.get(vaultId);
    const stamp = this.stamp(caller);
    const keystore: KeystoreRecord = {
      ...stamp,
      vaultId,
      type,
      name: stringField(body, 'name', { required: true, max: 100, pattern: NAME }),
      description: stringField(body, 'description', { max: 200 }) ?? '',
      groups: stringList(body, 'groups') ?? [],
      tlsProxy: stringField(body, 'tls_proxy', { max: 255 }),
      ...(await readConnection(this.unit, stamp.id, type, body, this.rules)),
    };
    if (dryRun) {
      await this.checkConnection(keystore);
      return keystore;
    }
    return this.keystores.create(keystore);
  }

  private async checkConnection(keystore: KeystoreRecord): Promise<void> {
    try {
      await (await adapterOf(this.unit, keystore, this.rules)).check();
    } catch (error) {
      throw new UkoError('invalid', 'keystore_connection_failed', `The keystore cannot be reached with these connection details: ${(error as Error).message}`);
    }
  }

  updateKeystore(id: string, ifMatch: string | undefined, input: unknown, caller: Caller): Promise<KeystoreRecord> {
    const body = asBody(input);
    if (body.type !== undefined || body.vault !== undefined)
      throw invalidField(body.type !== undefined ? 'type' : 'vault', 'A keystore keeps its type and vault');
    return this.keystores.update(
      id,
      ifMatch,
      async (keystore) => ({
        ...keystore,
        name: stringField(body, 'name', { max: 100, pattern: NAME }) ?? keystore.name,
        description: stringField(body, 'description', { max: 200 }) ?? keystore.description,
        groups: stringList(body, 'groups') ?? keystore.groups,
        tlsProxy: stringField(body, 'tls_proxy', { max: 255 }) ?? keystore.tlsProxy,
        ...(await readConnection(this.unit, keystore.id, keystore.type, body, this.rules, keystore)),
      }),
      this.by(caller),
    );
  }

  async deleteKeystore(id: string, ifMatch: string | undefined): Promise<void> {
    const keys = await this.keys.list();
    await this.keystores.delete(id, ifMatch, () => {
      const holding = keys.find((key) => key.state !== 'destroyed' && key.instances.some((instance) => instance.keystoreId === id && instance.keyIdInKeystore));
      if (holding) throw new UkoError('conflict', 'keystore_in_use', `The keystore holds a copy of the managed key ${holding.id}, which is not destroyed`);
    });
  }

  async keystoreStatus(id: string): Promise<KeystoreHealth> {
    const keystore = await this.keystores.get(id);
    const last_heartbeat = this.now();
    try {
      await (await adapterOf(this.unit, keystore, this.rules)).check();
      return { health_status: 'ok', last_heartbeat, message: 'The keystore answers' };
    } catch (error) {
      return {
        health_status: error instanceof KeystoreUnreachableError ? 'not_responding' : 'configuration_error',
        last_heartbeat,
        message: (error as Error).message,
      };
    }
  }

  // Key templates

  async createTemplate(input: unknown, caller: Caller): Promise<TemplateRecord> {
    const body = asBody(input);
    const vaultId = vaultIdOf(body);
    await this.vaults.get(vaultId);
    if (body.key === undefined) throw missingField('key');
    const key = asBody(body.key, 'key');
    const algorithm = oneOf(key, 'algorithm', ALGORITHMS);
    if (algorithm !== 'aes')
      throw new UkoError('unsupported', 'algorithm_not_supported', `Managed keys of algorithm ${algorithm} are not supported by this orchestrator`, {
        type: 'field',
        name: 'key.algorithm',
      });
    const template: TemplateRecord = {
      ...this.stamp(caller),
      vaultId,
      name: stringField(body, 'name', { required: true, max: 30, pattern: NAME }),
      description: stringField(body, 'description', { max: 200 }) ?? '',
      namingScheme: stringField(body, 'naming_scheme', { max: 100 }) ?? '',
      state: oneOf(body, 'state', ['archived', 'unarchived'], 'unarchived'),
      key: {
        algorithm,
        size: oneOf(key, 'size', AES_SIZES, '256'),
        activationDate: stringField(key, 'activation_date', { max: 10, pattern: DATE_OR_PERIOD }) ?? 'P0D',
        expirationDate: stringField(key, 'expiration_date', { max: 10, pattern: DATE_OR_PERIOD }) ?? 'P365D',
        state: oneOf(key, 'state', ['pre_activation', 'active'], 'pre_activation'),
        deactivateOnRotation: booleanField(key, 'deactivate_on_rotation') ?? true,
      },
      keystores: this.templateKeystores(body, true)!,
    };
    if (body.type !== undefined && JSON.stringify(body.type) !== '["user_defined"]') throw invalidField('type', 'Only user_defined templates can be created');
    this.checkSizeFits(template);
    return this.templates
      .create(template, async (tx) => {
        await tx.create(paths.templateName(vaultId, template.name), template.id);
      })
      .catch((error: unknown) => {
        if ((error as Error).name === 'StoreConflictError')
          throw new UkoError('conflict', 'template_name_exists', `The vault has a key template named ${template.name} already`, {
            type: 'field',
            name: 'name',
          });
        throw error;
      });
  }

  private templateKeystores(body: Body, required: boolean): TemplateRecord['keystores'] | undefined {
    const value = body.keystores;
    if (value === undefined && !required) return undefined;
    if (!Array.isArray(value) || value.length === 0 || value.length > 20)
      throw invalidField('keystores', 'The keystores field must list 1 to 20 keystore groups, each {group, type}');
    return value.map((item) => {
      const entry = asBody(item, 'keystores');
      return { group: stringField(entry, 'group', { required: true, max: 64 }), type: oneOf(entry, 'type', KEYSTORE_TYPES) };
    });
  }

  /** AWS KMS, and Concord's Key Protect root keys, import only 256-bit symmetric material. */
  private checkSizeFits(template: TemplateRecord): void {
    if (template.keystores.some((k) => k.type === 'aws_kms' || k.type === 'ibm_cloud_kms') && template.key.size !== '256') {
      throw invalidField('key.size', 'AWS KMS and Key Protect keystores take 256-bit AES keys only');
    }
  }

  updateTemplate(id: string, ifMatch: string | undefined, input: unknown, caller: Caller): Promise<TemplateRecord> {
    const body = asBody(input);
    const key = body.key === undefined ? {} : asBody(body.key, 'key');
    if (key.algorithm !== undefined) throw invalidField('key.algorithm', 'A key template keeps its algorithm');
    if (body.name !== undefined) throw invalidField('name', 'A key template keeps its name: managed keys are created by template name');
    return this.templates.update(
      id,
      ifMatch,
      (template) => {
        const next: TemplateRecord = {
          ...template,
          description: stringField(body, 'description', { max: 200 }) ?? template.description,
          keystores: this.templateKeystores(body, false) ?? template.keystores,
          key: {
            ...template.key,
            size: key.size === undefined ? template.key.size : oneOf(key, 'size', AES_SIZES),
            activationDate: stringField(key, 'activation_date', { max: 10, pattern: DATE_OR_PERIOD }) ?? template.key.activationDate,
            expirationDate: stringField(key, 'expiration_date', { max: 10, pattern: DATE_OR_PERIOD }) ?? template.key.expirationDate,
            state: key.state === undefined ? template.key.state : oneOf(key, 'state', ['pre_activation', 'active']),
            deactivateOnRotation: booleanField(key, 'deactivate_on_rotation') ?? template.key.deactivateOnRotation,
          },
        };
        this.checkSizeFits(next);
        return next;
      },
      this.by(caller),
    );
  }

  setTemplateArchived(id: string, ifMatch: string | undefined, archived: boolean, caller: Caller): Promise<TemplateRecord> {
    return this.templates.update(id, ifMatch, (template) => ({ ...template, state: archived ? 'archived' : 'unarchived' }), this.by(caller));
  }

  async deleteTemplate(id: string, ifMatch: string | undefined): Promise<void> {
    const keys = await this.keys.list();
    await this.templates.delete(id, ifMatch, (template, tx) => {
      if (keys.some((key) => key.templateId === id))
        throw new UkoError('conflict', 'template_in_use', 'Managed keys were created from this key template; delete them first');
      tx.delete(paths.templateName(template.vaultId, template.name));
    });
  }

  // Managed keys

  async createManagedKey(input: unknown, caller: Caller): Promise<ManagedKeyRecord> {
    const body = asBody(input);
    const vaultId = vaultIdOf(body);
    await this.vaults.get(vaultId);
    const templateName = stringField(body, 'template_name', { required: true, max: 30 });
    const templateId = await this.store.get(paths.templateName(vaultId, templateName));
    const template = templateId === undefined ? undefined : await this.templates.find(templateId);
    if (!template)
      throw new UkoError('not_found', 'key_template_not_found', `The vault has no key template named ${templateName}`, {
        type: 'field',
        name: 'template_name',
      });
    if (template.state === 'archived')
      throw new UkoError('invalid', 'key_template_archived', `The key template ${templateName} is archived`, { type: 'field', name: 'template_name' });
    const stamp = this.stamp(caller);
    const key: ManagedKeyRecord = {
      ...stamp,
      vaultId,
      templateId: template.id,
      label: stringField(body, 'label', { max: 255 }) ?? (template.namingScheme || template.name),
      description: stringField(body, 'description', { max: 200 }) ?? '',
      state: 'pre_activation',
      algorithm: template.key.algorithm,
      size: template.key.size,
      deactivateOnRotation: template.key.deactivateOnRotation,
      materials: [await newMaterial(this.unit, stamp.id, 1, Number(template.key.size), stamp.createdAt)],
      instances: [],
      syncSeq: 0,
    };
    await this.keys.create(key);
    return template.key.state === 'active' ? this.activate(key.id, undefined, caller, true) : key;
  }

  updateManagedKey(id: string, ifMatch: string | undefined, input: unknown, caller: Caller): Promise<ManagedKeyRecord> {
    const body = asBody(input);
    return this.keys.update(
      id,
      ifMatch,
      (key) => ({
        ...key,
        label: stringField(body, 'label', { max: 255 }) ?? key.label,
        description: stringField(body, 'description', { max: 200 }) ?? key.description,
        activationDate: stringField(body, 'activation_date', { max: 10, pattern: /^\d{4}-\d{2}-\d{2}$/ }) ?? key.activationDate,
        expirationDate: stringField(body, 'expiration_date', { max: 10, pattern: /^\d{4}-\d{2}-\d{2}$/ }) ?? key.expirationDate,
      }),
      this.by(caller),
    );
  }

  async deleteManagedKey(id: string, ifMatch: string | undefined): Promise<void> {
    await this.keys.delete(id, ifMatch, (key) => {
      if (key.state !== 'pre_activation' && key.state !== 'destroyed' && key.state !== 'destroyed_compromised') {
        throw wrongState(key, 'deleted', 'pre_activation or destroyed');
      }
    });
  }

  /** Distributes the key to every keystore of its template's groups, enabled. */
  async activate(id: string, ifMatch: string | undefined, caller: Caller, skipIfMatch = false): Promise<ManagedKeyRecord> {
    const keystores = await this.keystores.list();
    const templates = await this.templates.list();
    await this.keys.update(
      id,
      skipIfMatch ? null : ifMatch,
      (key, tx) => {
        if (key.state !== 'pre_activation') throw wrongState(key, 'activated', 'pre_activation');
        const template = templates.find((t) => t.id === key.templateId);
        return this.queue(tx, {
          ...key,
          state: 'active',
          activationDate: key.activationDate ?? this.now().slice(0, 10),
          instances: instancesFor(key, template, keystores),
        });
      },
      this.by(caller),
    );
    return this.syncNow(id);
  }

  deactivate(id: string, ifMatch: string | undefined, caller: Caller): Promise<ManagedKeyRecord> {
    return this.transition(id, ifMatch, caller, ['active'], 'deactivated');
  }

  destroy(id: string, ifMatch: string | undefined, caller: Caller): Promise<ManagedKeyRecord> {
    return this.transition(id, ifMatch, caller, ['pre_activation', 'deactivated', 'compromised'], 'destroyed');
  }

  private async transition(id: string, ifMatch: string | undefined, caller: Caller, from: ManagedKeyState[], to: ManagedKeyState): Promise<ManagedKeyRecord> {
    await this.keys.update(
      id,
      ifMatch,
      (key, tx) => {
        if (!from.includes(key.state)) throw wrongState(key, to, from.join(' or '));
        return this.queue(tx, { ...key, state: to });
      },
      this.by(caller),
    );
    return this.syncNow(id);
  }

  /**
   * New material for an active key, created as a new key in every keystore; the keystores'
   * earlier keys stay as they are, so what they encrypted can still be decrypted there.
   */
  async rotate(id: string, ifMatch: string | undefined, caller: Caller): Promise<ManagedKeyRecord> {
    const at = this.now();
    const current = await this.keys.get(id);
    const material = await newMaterial(this.unit, id, current.materials.length + 1, Number(current.size), at);
    await this.keys.update(
      id,
      ifMatch,
      (key, tx) => {
        if (key.state !== 'active') throw wrongState(key, 'rotated', 'active');
        if (key.materials.length !== material.version - 1)
          throw new UkoError('conflict', 'concurrent_rotation', 'The managed key was rotated at the same time; try again');
        return this.queue(tx, {
          ...key,
          materials: [...key.materials, material],
          rotatedAt: at,
          instances: key.instances.map(({ keyIdInKeystore: _old, ...instance }) => ({ ...instance, status: 'not_present' as const })),
        });
      },
      this.by(caller),
    );
    return this.syncNow(id);
  }

  /** Takes the template's current keystore groups: copies go to keystores that joined them, and leave the managed key for those that left. */
  async updateFromTemplate(id: string, ifMatch: string | undefined, caller: Caller): Promise<ManagedKeyRecord> {
    const keystores = await this.keystores.list();
    const templates = await this.templates.list();
    await this.keys.update(
      id,
      ifMatch,
      (key, tx) => {
        const template = templates.find((t) => t.id === key.templateId);
        return this.queue(tx, {
          ...key,
          deactivateOnRotation: template?.key.deactivateOnRotation ?? key.deactivateOnRotation,
          instances: key.state === 'pre_activation' ? [] : instancesFor(key, template, keystores),
        });
      },
      this.by(caller),
    );
    return this.syncNow(id);
  }

  /** Verify sync: asks every keystore of the key what it holds now, and records the flags. */
  verify(id: string): Promise<ManagedKeyRecord> {
    return this.orchestrator.verify(id);
  }

  /** Sync: makes every keystore of the key hold what the managed key's state says. */
  async sync(id: string, ifMatch: string | undefined): Promise<ManagedKeyRecord> {
    await this.keys.update(id, ifMatch, (key, tx) => this.queue(tx, key));
    return this.syncNow(id);
  }
}

function wrongState(key: ManagedKeyRecord, action: string, needed: string): UkoError {
  return new UkoError('conflict', 'invalid_state', `The managed key is ${key.state}; it can be ${action} only when ${needed}`);
}

/** The keystores of the template's groups, each with the copy the key already has there. */
function instancesFor(key: ManagedKeyRecord, template: TemplateRecord | undefined, keystores: KeystoreRecord[]): KeyInKeystore[] {
  const instances: KeyInKeystore[] = [];
  for (const { group, type } of template?.keystores ?? []) {
    for (const keystore of keystores) {
      if (keystore.vaultId !== key.vaultId || keystore.type !== type || !keystore.groups.includes(group)) continue;
      if (instances.some((i) => i.keystoreId === keystore.id)) continue;
      instances.push(
        key.instances.find((i) => i.keystoreId === keystore.id) ?? {
          keystoreId: keystore.id,
          group,
          labelInKeystore: key.label,
          status: 'not_present',
          syncFlag: 'ok',
          syncFlagDetail: 'pre_active_key_is_not_present_in_keystore',
        },
      );
    }
  }
  return instances;
}
