import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import type { Caller, KeyService, KeySubscriber } from '../kms/index.ts';
import type { Outbox } from '../outbox/index.ts';
import { ImportTokens } from './import-tokens.ts';
import { InstancePolicies } from './instance-policies.ts';
import { DEFAULT_MIN_ROTATION_INTERVAL_MS, DEFAULT_ROTATION_MONTH_MS, KeyPolicies } from './key-policies.ts';
import { inKpTerms, KeyProtect, type KpCaller, type KpKey, type NewKey } from './key-protect.ts';
import { KeyRings } from './key-rings.ts';
import { KpError } from './kp-error.ts';
import { KP_STATE, keyCrn } from './kp-records.ts';
import { Notifications, type NotificationSigner } from './notifications.ts';
import { Registrations, type Registration, type RegistrationBody, type RegistrationQuery } from './registrations.ts';

/** Key Protect's hour between a key's last lifecycle action or notification and the next `actions/sync`. */
export const DEFAULT_SYNC_INTERVAL_MS = 3600 * 1000;
/** The action (concord:<action>) that makes a principal a service that may register resources and acknowledge events. */
export const REGISTRATION_ACTION = 'WriteKeyProtectRegistration';

export interface KeyProtectServiceOptions {
  service: KeyService;
  outbox: Outbox;
  log: Logger;
  signer?: NotificationSigner;
  webhooks?: Readonly<Record<string, string>>;
  syncIntervalMs?: number;
  /** The length of a rotation policy's `interval_month` (30 days unless set; tests shorten it). */
  rotationMonthMs?: number;
  /** How long after a root key's last rotation Key Protect's rotate is refused (an hour unless set). */
  minRotationIntervalMs?: number;
}

/** The Key Protect module of a region: its keys, the registrations of resources against them, and their notifications. */
export class KeyProtectService {
  readonly keys: KeyProtect;
  readonly registrations: Registrations;
  readonly importTokens: ImportTokens;
  readonly notifications: Notifications;
  readonly policies: KeyPolicies;
  readonly instancePolicies: InstancePolicies;
  readonly keyRings: KeyRings;
  /** Subscribed by the composition root to the key service's events. */
  readonly subscriber: KeySubscriber;

  constructor(private readonly options: KeyProtectServiceOptions) {
    const { service } = options;
    this.registrations = new Registrations(service.ctx.store, service.ctx.now);
    this.importTokens = new ImportTokens(service);
    this.keys = new KeyProtect(service, this.registrations, this.importTokens);
    this.notifications = new Notifications({
      ...options,
      registrations: this.registrations,
      keyCrn: (keyId) => keyCrn(service.ctx.region, service.ctx.account, this.keys.instanceId, keyId),
      syncIntervalMs: options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    });
    this.policies = new KeyPolicies({
      service,
      keys: this.keys,
      rotationMonthMs: options.rotationMonthMs ?? DEFAULT_ROTATION_MONTH_MS,
      minRotationIntervalMs: options.minRotationIntervalMs ?? DEFAULT_MIN_ROTATION_INTERVAL_MS,
    });
    this.instancePolicies = new InstancePolicies(service);
    this.keyRings = new KeyRings(service, this.keys);
    const notifying = this.notifications.subscriber;
    // One subscriber: the policies may refuse a deletion before any notification is queued for it.
    this.subscriber = {
      name: notifying.name,
      inTransaction: async (tx, event) => {
        await this.policies.onKeyEvent(tx, event);
        await notifying.inTransaction?.(tx, event);
      },
      afterCommit: (event) => {
        notifying.afterCommit?.(event);
      },
    };
  }

  /**
   * POST /keys: in the key ring `x-kms-key-ring` names (or the body's keyRingID), if the
   * instance's keyCreateImportAccess policy allows it; a new key takes the instance's
   * dual authorization and rotation policies.
   */
  async createKey(who: KpCaller, body: NewKey & Record<string, unknown>, keyRingHeader: string | undefined): Promise<KpKey> {
    const keyRingID = await this.keyRings.ringForNewKey(keyRingHeader, body.keyRingID);
    const root = body.extractable !== true;
    await this.instancePolicies.requireCreationAllowed({
      root,
      imported: body.payload !== undefined,
      withImportToken: body.encryptedNonce !== undefined && body.iv !== undefined,
    });
    const key = await this.keys.createKey(who, { ...body, keyRingID });
    if (!root) return key;
    const defaults = await this.instancePolicies.keyDefaults();
    if (key.imported === true) delete defaults.rotation;
    if (!defaults.dualAuthDelete && !defaults.rotation) return key;
    await this.policies.adopt(who, key.id, defaults);
    return this.keys.metadata(who, key.id);
  }

  /** DELETE /keys/{id}: a dual-auth key needs an authorization by another principal first. */
  async deleteKey(who: KpCaller, id: string, force: boolean): Promise<KpKey> {
    const dual = await this.policies.approveDeletion(who, id);
    let deleted = false;
    try {
      const key = await this.keys.deleteKey(who, id, force);
      deleted = true;
      // The authorization is spent by the deletion (settled below), so the deleted key shows none.
      return dual ? { ...key, dualAuthDelete: { enabled: true, keySetForDeletion: false } } : key;
    } finally {
      if (dual) await this.policies.settleDeletion(id, deleted);
    }
  }

  /** Every request of the instance: from an address the allowedIP policy lists, unless a service makes it (IBM exempts its services). */
  async requireAllowedAddress(who: KpCaller, ip: string): Promise<void> {
    try {
      await this.instancePolicies.requireAllowedIp(ip);
    } catch (refusal) {
      const service = await this.options.service.authorizeManagement(who.caller, REGISTRATION_ACTION).then(
        () => true,
        () => false,
      );
      if (!service) throw refusal;
    }
  }

  /** POST /keys/{id}/actions/rotate: at most once per interval (an hour) per root key. */
  async rotate(who: KpCaller, id: string, body: { payload?: unknown }): Promise<void> {
    await this.policies.requireRotationAllowed(who, id);
    await this.keys.rotate(who, id, body);
  }

  /** The instances of this region: one, the key space of its account. */
  instances(): { id: string; crn: string; region: string; account: string }[] {
    const { region, account } = this.options.service.ctx;
    return [{ id: this.keys.instanceId, crn: this.keys.instanceCrn, region, account }];
  }

  /** `concord instance list`: identity policies must allow kms:ListKeys. */
  async authorizeInstances(caller: Caller): Promise<void> {
    await this.options.service.authorizeIdentity(caller, 'ListKeys');
  }

  /** Create (POST), replace (PUT) or update (PATCH) a registration: services only, on an active root key. */
  async writeRegistration(who: KpCaller, mode: 'create' | 'replace' | 'update', keyId: string, crn: string, body: RegistrationBody): Promise<Registration> {
    const action = 'Registration could not be written';
    await this.requireService(who);
    if ((await this.keys.record(keyId))?.standard) throw new KpError('KEY_ROOT_REQ_REG_ERR', action);
    const state = await this.keys.rootKeyState(keyId);
    if (!state) throw new KpError('NOT_FOUND_ERR', action);
    if (mode !== 'update' && state.state !== KP_STATE.active) throw new KpError('KEY_INVALID_STATE_ERR', action);
    return this.registrations.write(mode, keyId, crn, body, who.iamId, state.version);
  }

  async deleteRegistration(who: KpCaller, keyId: string, crn: string): Promise<void> {
    await this.requireService(who);
    await this.keys.record(keyId);
    await this.registrations.remove(keyId, crn);
  }

  /** A key's registrations (kms:DescribeKey on it), or every key's (kms:ListKeys). */
  async listRegistrations(who: KpCaller, keyId: string | undefined, query: RegistrationQuery): Promise<{ total: number; page: Registration[] }> {
    if (keyId === undefined) await inKpTerms(() => this.options.service.authorizeIdentity(who.caller, 'ListKeys'), 'Registrations could not be listed');
    else {
      await this.keys.requireRoot(keyId, 'Registrations could not be listed');
      await this.keys.describe(who.caller, keyId);
    }
    return this.registrations.list(keyId, query);
  }

  /** POST /keys/{id}/actions/sync, authorized as kms:DescribeKey on the key. */
  async sync(who: KpCaller, keyId: string): Promise<void> {
    await this.keys.requireRoot(keyId, 'Key could not be synced');
    await this.keys.describe(who.caller, keyId);
    await this.notifications.sync(keyId);
  }

  async acknowledge(who: KpCaller, body: Record<string, unknown>): Promise<void> {
    await this.requireService(who);
    const { eventId, adopterKeyState, timestamp, keyStateData } = body;
    const keyVersion = (keyStateData as { keyVersion?: unknown } | undefined)?.keyVersion;
    if (typeof eventId !== 'string') throw new KpError('BAD_BODY_ERR', 'Event could not be acknowledged', 'eventId');
    if (typeof adopterKeyState !== 'number' || !Number.isInteger(adopterKeyState))
      throw new KpError('BAD_BODY_ERR', 'Event could not be acknowledged', 'adopterKeyState');
    if (typeof timestamp !== 'string') throw new KpError('BAD_BODY_ERR', 'Event could not be acknowledged', 'timestamp');
    if (keyVersion !== undefined && typeof keyVersion !== 'string')
      throw new KpError('BAD_BODY_ERR', 'Event could not be acknowledged', 'keyStateData.keyVersion');
    await this.notifications.acknowledge({ eventId, adopterKeyState, timestamp, ...(keyVersion !== undefined ? { keyVersion } : {}) });
  }

  private async requireService(who: KpCaller): Promise<void> {
    try {
      await this.options.service.authorizeManagement(who.caller, REGISTRATION_ACTION);
    } catch (error) {
      if (error instanceof KmsError && error.code === 'AccessDeniedException') throw new KpError('SERVICE_ONLY_ERR', 'Registration could not be written');
      throw error;
    }
  }
}
