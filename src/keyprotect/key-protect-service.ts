import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import type { Caller, KeyService, KeySubscriber } from '../kms/index.ts';
import type { Outbox } from '../outbox/index.ts';
import { ImportTokens } from './import-tokens.ts';
import { KeyProtect, kpErrorOf, type KpCaller } from './key-protect.ts';
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
}

/** The Key Protect module of a region: its keys, the registrations of resources against them, and their notifications. */
export class KeyProtectService {
  readonly keys: KeyProtect;
  readonly registrations: Registrations;
  readonly importTokens: ImportTokens;
  readonly notifications: Notifications;
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
    this.subscriber = this.notifications.subscriber;
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
    if (keyId === undefined) await this.denied(() => this.options.service.authorizeIdentity(who.caller, 'ListKeys'));
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

  private async denied(check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      throw kpErrorOf(error, 'The request could not be completed');
    }
  }
}
