import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import { keyMetadata, keyPath, type KeyEvent, type KeyEventKind, type KeyRecord, type KeyService, type KeySubscriber } from '../kms/index.ts';
import { enqueue, type Outbox, type OutboxEntry } from '../outbox/index.ts';
import type { Transaction } from '../store/index.ts';
import { KpError } from './kp-error.ts';
import { defaultKpRecord, KP_STATE, kpKeyPath, type KpKeyRecord, type KpState } from './kp-records.ts';
import { kpState } from './key-protect.ts';
import { Registrations, type Registration } from './registrations.ts';

/** The outbox topic of notifications to registered resources. */
export const NOTIFICATION_TOPIC = 'kp-notification';
const DELIVERY_TIMEOUT_MS = 5000;

/** The lifecycle events of a root key that its registered resources are told of, by Key Protect's names. */
const LIFECYCLE: Partial<Record<KeyEventKind, string>> = {
  rotated: 'rotate',
  'material-imported': 'import',
  disabled: 'disable',
  enabled: 'enable',
  'deletion-scheduled': 'delete',
  'deletion-cancelled': 'restore',
  deleted: 'purge',
  'material-expired': 'expire',
  'material-deleted': 'expire',
};

/** What a resource's receiver gets: signed, with an event ID to acknowledge at /api/v2/event_ack. */
export interface Notification {
  eventId: string;
  /** rotate, import (of new material), disable, enable, delete, restore, purge, expire, or sync. */
  event: string;
  keyId: string;
  keyCrn: string;
  resourceCrn: string;
  /** Key Protect's state of the key after the event. */
  keyState: KpState;
  keyVersion: string;
  timestamp: string;
}

/** What signs notifications: the region's identity key (ECDSA P-256, SHA-256, DER signature in base64). */
export interface NotificationSigner {
  sign(data: Buffer): string;
  publicKey: string;
}

export interface NotificationsOptions {
  service: KeyService;
  outbox: Outbox;
  registrations: Registrations;
  keyCrn: (keyId: string) => string;
  signer?: NotificationSigner;
  /** Receivers per service, by the service name of the resource CRN (crn:v1:…:<service>:…): used when a registration names none. */
  webhooks?: Readonly<Record<string, string>>;
  /** How long after a key's last lifecycle action or notification `actions/sync` is refused. */
  syncIntervalMs: number;
  log: Logger;
}

/**
 * Lifecycle notifications of root keys to the resources registered against them. A key event
 * subscriber queues one outbox message per registration in the transaction of the change,
 * whichever surface made it, and refuses a deletion a registration prevents; the outbox
 * delivers them in order per key and resource, with backoff, across restarts. Each
 * notification is a JSON POST signed over `<timestamp>.<body>` so the receiver checks origin
 * and freshness.
 */
export class Notifications {
  readonly subscriber: KeySubscriber;
  /** Keep-alive connections per receiver origin: node:http costs a third of fetch's CPU per delivery. */
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly options: NotificationsOptions) {
    options.outbox.register(NOTIFICATION_TOPIC, (entry) => this.deliver(entry as OutboxEntry<Notification>));
    this.subscriber = {
      name: 'key-protect',
      inTransaction: (tx, event) => this.onKeyEvent(tx, event),
      afterCommit: (event) => {
        if (LIFECYCLE[event.kind]) options.outbox.kick();
      },
    };
  }

  /** POST /keys/{id}/actions/sync: the key's current state to every registered resource, at most once per interval. */
  async sync(keyId: string): Promise<void> {
    const { service, syncIntervalMs } = this.options;
    await service.ctx.store.transaction(async (tx) => {
      const now = service.ctx.now();
      const stored = await tx.getForUpdate(kpKeyPath(keyId));
      const record = stored === undefined ? undefined : (JSON.parse(stored) as KpKeyRecord);
      const last = Math.max(record?.lastActionAt ?? 0, record?.lastNotificationAt ?? 0);
      if (now - last < syncIntervalMs) throw new KpError('REQ_TOO_EARLY_ERR', 'Key could not be synced');
      const key = await tx.get(keyPath(keyId));
      const state = key === undefined ? { state: KP_STATE.destroyed, version: '' } : this.stateOf(JSON.parse(key) as KeyRecord);
      await this.queue(tx, keyId, 'sync', state, now);
      tx.put(kpKeyPath(keyId), JSON.stringify({ ...(record ?? defaultKpRecord(keyId)), lastNotificationAt: now }));
    });
    this.options.outbox.kick();
  }

  /** POST /event_ack: a resource acknowledges an event; NOT_FOUND_ERR for an event not awaiting acknowledgement. */
  async acknowledge(ack: { eventId: string; adopterKeyState: number; timestamp: string; keyVersion?: string }): Promise<void> {
    const { store } = this.options.service.ctx;
    const stored = /^[0-9a-f-]{36}$/.test(ack.eventId) ? await store.get(eventPath(ack.eventId)) : undefined;
    if (stored === undefined) throw new KpError('NOT_FOUND_ERR', 'Event could not be acknowledged', 'eventId');
    const { keyId, resourceCrn } = JSON.parse(stored) as { keyId: string; resourceCrn: string };
    await this.options.registrations.acknowledge(keyId, resourceCrn, {
      eventId: ack.eventId,
      adopterKeyState: ack.adopterKeyState,
      ...(ack.keyVersion !== undefined ? { keyVersion: ack.keyVersion } : {}),
      timestamp: ack.timestamp,
      receivedAt: new Date(this.options.service.ctx.now()).toISOString(),
    });
    await store.transaction((tx) => {
      tx.delete(eventPath(ack.eventId));
    });
    this.options.log.info({ eventId: ack.eventId, keyId, resourceCrn, adopterKeyState: ack.adopterKeyState }, 'key protect notification acknowledged');
  }

  private async onKeyEvent(tx: Transaction, event: KeyEvent): Promise<void> {
    const lifecycle = LIFECYCLE[event.kind];
    if (!lifecycle && event.kind !== 'created') return;
    if (event.kind === 'deletion-scheduled' && (await this.options.registrations.ofKey(event.keyId, tx)).some((r) => r.preventKeyDeletion)) {
      throw new KmsError(
        'KMSInvalidStateException',
        `Key ${event.after?.keyId ?? event.keyId} is protecting one or more cloud resources that prevent its deletion (PROTECTED_RESOURCE_ERR).`,
      );
    }
    const now = this.options.service.ctx.now();
    const stored = await tx.getForUpdate(kpKeyPath(event.keyId));
    const record = stored === undefined ? defaultKpRecord(event.keyId) : (JSON.parse(stored) as KpKeyRecord);
    const changed: KpKeyRecord = { ...record, lastActionAt: now };
    if (event.kind === 'deletion-scheduled') changed.deletedAt = now;
    if (event.kind === 'deletion-cancelled') {
      delete changed.deletedAt;
      delete changed.deletedBy;
    }
    if (lifecycle) {
      const state = event.after ? this.stateOf(event.after) : { state: KP_STATE.destroyed, version: '' };
      if ((await this.queue(tx, event.keyId, lifecycle, state, now)) > 0) changed.lastNotificationAt = now;
    }
    if (event.kind !== 'deleted') tx.put(kpKeyPath(event.keyId), JSON.stringify(changed));
  }

  /** Queues `event` for every registration of the key; returns how many. */
  private async queue(tx: Transaction, keyId: string, event: string, state: { state: KpState; version: string }, now: number): Promise<number> {
    const registrations = await this.options.registrations.ofKey(keyId, tx);
    for (const registration of registrations) {
      const eventId = randomUUID();
      const body: Notification = {
        eventId,
        event,
        keyId,
        keyCrn: this.options.keyCrn(keyId),
        resourceCrn: registration.resourceCrn,
        keyState: state.state,
        keyVersion: state.version,
        timestamp: new Date(now).toISOString(),
      };
      await enqueue(tx, { topic: NOTIFICATION_TOPIC, destination: `${keyId} ${registration.resourceCrn}`, body });
      tx.put(eventPath(eventId), JSON.stringify({ keyId, resourceCrn: registration.resourceCrn }));
      Registrations.noteQueued(tx, registration, eventId, event, now);
      this.options.log.info({ keyId, resourceCrn: registration.resourceCrn, eventId, event }, 'key protect notification queued');
    }
    return registrations.length;
  }

  private stateOf(key: KeyRecord): { state: KpState; version: string } {
    const meta = keyMetadata(this.options.service.ctx, key);
    return { state: kpState(meta.KeyState), version: meta.CurrentKeyMaterialId ?? '' };
  }

  private async deliver(entry: OutboxEntry<Notification>): Promise<{ done: true }> {
    const notification = entry.body;
    const registration = await this.options.registrations.get(notification.keyId, notification.resourceCrn);
    const url = registration && this.receiverOf(registration);
    if (!url) {
      this.options.log.warn({ eventId: notification.eventId, resourceCrn: notification.resourceCrn }, 'key protect notification has no receiver; dropped');
      return { done: true };
    }
    const body = JSON.stringify(notification);
    const timestamp = String(Date.now());
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-concord-event-id': notification.eventId,
      'x-concord-timestamp': timestamp,
    };
    if (this.options.signer) headers['x-concord-signature'] = this.options.signer.sign(Buffer.from(`${timestamp}.${body}`, 'utf8'));
    const status = await this.post(url, headers, body);
    if (status < 200 || status > 299) throw new Error(`the receiver of ${notification.resourceCrn} answered ${status}`);
    this.options.log.info(
      { eventId: notification.eventId, keyId: notification.keyId, resourceCrn: notification.resourceCrn },
      'key protect notification delivered',
    );
    return { done: true };
  }

  /** POSTs `body` to a receiver over its origin's keep-alive connections; resolves with the status (a redirect is not followed). */
  private post(url: string, headers: Record<string, string>, body: string): Promise<number> {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    let agent = this.agents.get(target.origin);
    if (!agent) {
      agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
      this.agents.set(target.origin, agent);
    }
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: DELIVERY_TIMEOUT_MS },
        (response) => {
          response.resume();
          response.on('end', () => {
            resolve(response.statusCode ?? 0);
          });
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`the receiver did not answer within ${DELIVERY_TIMEOUT_MS} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }

  /** The registration's own webhookUrl (registrationMetadata is a JSON string), else its service's from the configuration. */
  private receiverOf(registration: Registration): string | undefined {
    let url: unknown;
    try {
      url = (JSON.parse(registration.registrationMetadata ?? '{}') as { webhookUrl?: unknown }).webhookUrl;
    } catch {
      url = undefined;
    }
    const service = registration.resourceCrn.split(':')[4] ?? '';
    const chosen = typeof url === 'string' ? url : this.options.webhooks?.[service];
    return chosen !== undefined && /^https?:\/\//.test(chosen) ? chosen : undefined;
  }
}

const eventPath = (eventId: string): string => `kp/event/${eventId}`;
