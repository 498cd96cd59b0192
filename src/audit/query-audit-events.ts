import { timeIndexTime, type Reader } from '../store/index.ts';
import { AUDIT_KEYS, eventKey, parseChained } from './audit-chain.ts';
import type { AuditEvent } from './audit-event.ts';

export interface AuditQuery {
  /** A key ID or key ARN: events whose resources or parameters name it. */
  key?: string;
  /** An IAM principal ARN: events it made, itself or through a session of it (a role's). */
  principal?: string;
  eventName?: string;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  until?: number;
  limit?: number;
}

const PAGE = 500;

function namesKey(event: AuditEvent, key: string): boolean {
  const id = key.startsWith('arn:') ? key.slice(key.lastIndexOf('/') + 1) : key;
  if (event.resources?.some((resource) => resource.ARN === key || resource.ARN.endsWith(`:key/${id}`))) return true;
  const parameters = event.requestParameters ?? {};
  return ['keyId', 'targetKeyId', 'sourceKeyId', 'destinationKeyId'].some((name) => parameters[name] === key);
}

const madeBy = (event: AuditEvent, principal: string): boolean =>
  event.userIdentity.arn === principal || event.userIdentity.sessionContext?.sessionIssuer?.arn === principal;

/** Audit events in time order through the time index, those matching every filter given. */
export async function* queryAuditEvents(reader: Reader, query: AuditQuery): AsyncGenerator<AuditEvent> {
  const prefix = `${AUDIT_KEYS.timeIndex}/`;
  // Every index entry of the first millisecond wanted sorts after this.
  let after = query.since === undefined ? '' : `${prefix}${String(query.since).padStart(15, '0')}/`;
  let found = 0;
  for (;;) {
    const page = await reader.list(prefix, { after, limit: PAGE });
    for (const entry of page) {
      if (query.until !== undefined && timeIndexTime(entry.key) > query.until) return;
      const value = await reader.get(eventKey(Number(entry.value)));
      // An event purged between the two reads is simply gone.
      if (value === undefined) continue;
      const { event } = parseChained(value);
      if (query.eventName !== undefined && event.eventName !== query.eventName) continue;
      if (query.principal !== undefined && !madeBy(event, query.principal)) continue;
      if (query.key !== undefined && !namesKey(event, query.key)) continue;
      yield event;
      found += 1;
      if (query.limit !== undefined && found >= query.limit) return;
    }
    if (page.length < PAGE) return;
    after = page.at(-1)!.key;
  }
}
