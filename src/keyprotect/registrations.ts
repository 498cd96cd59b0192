import type { Transaction } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { KpError } from './kp-error.ts';

const PREFIX = 'kp/registration/';
const MAX_CRN = 512;
const MAX_DESCRIPTION = 240;
const MAX_METADATA = 4096;
/** The events a registration remembers as sent and not yet acknowledged; older ones stay in the log. */
const PENDING_LIMIT = 100;

/** An association of a root key with a cloud resource, in IBM's fields, with what Concord adds about its notifications. */
export interface Registration {
  keyId: string;
  resourceCrn: string;
  createdBy: string;
  creationDate: string;
  updatedBy: string;
  lastUpdated: string;
  description?: string;
  preventKeyDeletion: boolean;
  registrationMetadata?: string;
  keyVersion: { id: string; creationDate?: string };
  /** The last event queued for the resource; its delivery is in the log ('key protect notification delivered'). */
  lastNotification?: { eventId: string; event: string; queuedAt: string };
  lastAcknowledgement?: { eventId: string; adopterKeyState: number; keyVersion?: string; timestamp: string; receivedAt: string };
  /** Events delivered or queued that the resource has not acknowledged, oldest first. */
  unacknowledgedEvents: string[];
}

export interface RegistrationBody {
  description?: unknown;
  preventKeyDeletion?: unknown;
  registrationMetadata?: unknown;
  keyVersionId?: unknown;
}

export interface RegistrationQuery {
  limit?: number;
  offset?: number;
  preventKeyDeletion?: boolean;
  urlEncodedResourceCRN?: string;
}

export const registrationPath = (keyId: string, crn: string): string => `${PREFIX}${keyId}/${encodeURIComponent(crn)}`;
const keyPrefix = (keyId: string): string => `${PREFIX}${keyId}/`;

/** The registrations of root keys with cloud resources, by key then resource CRN. */
export class Registrations {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** POST (create: fails if it exists), PUT (replace), PATCH (update: must exist). */
  async write(
    mode: 'create' | 'replace' | 'update',
    keyId: string,
    crn: string,
    body: RegistrationBody,
    who: string,
    currentVersion: string,
  ): Promise<Registration> {
    checkCrn(crn);
    const fields = checkBody(body, mode);
    const now = new Date(this.now()).toISOString();
    return this.store.transaction(async (tx) => {
      const path = registrationPath(keyId, crn);
      const stored = await tx.getForUpdate(path);
      if (mode === 'create' && stored !== undefined) throw new KpError('CONFLICT_ERR', 'Registration could not be created');
      if (mode === 'update' && stored === undefined) throw new KpError('NOT_FOUND_ERR', 'Registration could not be updated');
      const before = stored === undefined ? undefined : (JSON.parse(stored) as Registration);
      const base: Registration =
        before && mode === 'update'
          ? before
          : {
              keyId,
              resourceCrn: crn,
              createdBy: before?.createdBy ?? who,
              creationDate: before?.creationDate ?? now,
              updatedBy: who,
              lastUpdated: now,
              preventKeyDeletion: false,
              keyVersion: { id: currentVersion },
              unacknowledgedEvents: before?.unacknowledgedEvents ?? [],
              ...(before?.lastNotification ? { lastNotification: before.lastNotification } : {}),
              ...(before?.lastAcknowledgement ? { lastAcknowledgement: before.lastAcknowledgement } : {}),
            };
      const registration: Registration = {
        ...base,
        ...fields,
        ...(fields.keyVersionId !== undefined ? { keyVersion: { id: fields.keyVersionId } } : {}),
        updatedBy: who,
        lastUpdated: now,
      };
      delete (registration as { keyVersionId?: unknown }).keyVersionId;
      tx.put(path, JSON.stringify(registration));
      return registration;
    });
  }

  async remove(keyId: string, crn: string): Promise<void> {
    checkCrn(crn);
    await this.store.transaction(async (tx) => {
      const path = registrationPath(keyId, crn);
      if ((await tx.getForUpdate(path)) === undefined) throw new KpError('NOT_FOUND_ERR', 'Registration could not be deleted');
      tx.delete(path);
    });
  }

  async ofKey(keyId: string, reader: Pick<Transaction, 'list'> = this.store): Promise<Registration[]> {
    return (await reader.list(keyPrefix(keyId))).map((entry) => JSON.parse(entry.value) as Registration);
  }

  async count(keyId: string): Promise<number> {
    return (await this.store.list(keyPrefix(keyId))).length;
  }

  async get(keyId: string, crn: string): Promise<Registration | undefined> {
    const stored = await this.store.get(registrationPath(keyId, crn));
    return stored === undefined ? undefined : (JSON.parse(stored) as Registration);
  }

  /** A page of the registrations of one key, or of every key, filtered as IBM's list filters. */
  async list(keyId: string | undefined, query: RegistrationQuery): Promise<{ total: number; page: Registration[] }> {
    const limit = query.limit ?? 200;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new KpError('BAD_BODY_ERR', 'Registrations could not be listed', 'limit');
    if (!Number.isInteger(offset) || offset < 0) throw new KpError('BAD_BODY_ERR', 'Registrations could not be listed', 'offset');
    const all: Registration[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.store.list(keyId === undefined ? PREFIX : keyPrefix(keyId), { limit: 1000, ...(after !== undefined ? { after } : {}) });
      for (const entry of page) all.push(JSON.parse(entry.value) as Registration);
      if (page.length < 1000) break;
      after = page.at(-1)!.key;
    }
    const crnFilter = query.urlEncodedResourceCRN;
    const matching = all.filter(
      (r) =>
        (query.preventKeyDeletion === undefined || r.preventKeyDeletion === query.preventKeyDeletion) &&
        (crnFilter === undefined || crnMatches(r.resourceCrn, crnFilter)),
    );
    return { total: matching.length, page: matching.slice(offset, offset + limit) };
  }

  /** Records an event queued for a registration, inside the transaction that queues it. */
  static noteQueued(tx: Transaction, registration: Registration, eventId: string, event: string, at: number): void {
    const pending = [...registration.unacknowledgedEvents, eventId].slice(-PENDING_LIMIT);
    const updated: Registration = {
      ...registration,
      lastNotification: { eventId, event, queuedAt: new Date(at).toISOString() },
      unacknowledgedEvents: pending,
    };
    tx.put(registrationPath(registration.keyId, registration.resourceCrn), JSON.stringify(updated));
  }

  /** Records a resource's acknowledgement of an event; false when no registration awaits that event. */
  async acknowledge(keyId: string, crn: string, ack: NonNullable<Registration['lastAcknowledgement']>): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const path = registrationPath(keyId, crn);
      const stored = await tx.getForUpdate(path);
      if (stored === undefined) return false;
      const registration = JSON.parse(stored) as Registration;
      tx.put(
        path,
        JSON.stringify({
          ...registration,
          lastAcknowledgement: ack,
          unacknowledgedEvents: registration.unacknowledgedEvents.filter((id) => id !== ack.eventId),
        }),
      );
      return true;
    });
  }
}

/** The CRN filter of the list: a CRN, or one with `*` segments as IBM allows. Matched segment by segment, no RegExp. */
function crnMatches(crn: string, pattern: string): boolean {
  const want = pattern.split(':');
  const have = crn.split(':');
  return want.length === have.length && want.every((segment, i) => segment === '*' || segment === have[i]);
}

function checkCrn(crn: string): void {
  if (!crn.startsWith('crn:v1:') || crn.length > MAX_CRN || crn.split(':').length < 8)
    throw new KpError('BAD_BODY_ERR', 'Registration could not be written', 'resourceCrn');
}

function checkBody(body: RegistrationBody, mode: 'create' | 'replace' | 'update'): Partial<Registration> & { keyVersionId?: string } {
  const fail = (member: string) => new KpError('BAD_BODY_ERR', 'Registration could not be written', member);
  const fields: Partial<Registration> & { keyVersionId?: string } = {};
  if (body.preventKeyDeletion === undefined) {
    if (mode !== 'update') throw fail('preventKeyDeletion');
  } else if (typeof body.preventKeyDeletion !== 'boolean') throw fail('preventKeyDeletion');
  else fields.preventKeyDeletion = body.preventKeyDeletion;
  if (body.description !== undefined) {
    if (typeof body.description !== 'string' || body.description.length > MAX_DESCRIPTION) throw fail('description');
    fields.description = body.description;
  }
  if (body.registrationMetadata !== undefined) {
    if (typeof body.registrationMetadata !== 'string' || body.registrationMetadata.length > MAX_METADATA) throw fail('registrationMetadata');
    fields.registrationMetadata = body.registrationMetadata;
  }
  if (body.keyVersionId !== undefined) {
    if (typeof body.keyVersionId !== 'string' || body.keyVersionId.length > 128) throw fail('keyVersionId');
    fields.keyVersionId = body.keyVersionId;
  }
  return fields;
}
