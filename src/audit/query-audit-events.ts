import type { Reader } from '../store/index.ts';
import { AUDIT_KEYS, eventKey, indexedBatch, parseChained, type IndexedBatch } from './audit-chain.ts';
import type { AuditEvent, ChainedEvent } from './audit-event.ts';

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

/**
 * Audit events through the time index, batch by batch in the order they were appended, those
 * matching every filter given. A batch is read whole, so its events come in chain order.
 */
export async function* queryAuditEvents(reader: Reader, query: AuditQuery): AsyncGenerator<AuditEvent> {
  const prefix = `${AUDIT_KEYS.timeIndex}/`;
  // Batches are indexed by their latest event: every batch holding an event at or after `since` sorts after this.
  let after = query.since === undefined ? '' : `${prefix}${String(query.since).padStart(15, '0')}/`;
  let found = 0;
  for (;;) {
    const page = await reader.list(prefix, { after, limit: PAGE });
    for (const entry of page) {
      const batch = indexedBatch(entry);
      if (query.until !== undefined && batch.earliest > query.until) return;
      for await (const { time, event } of batchEvents(reader, batch)) {
        if ((query.since !== undefined && time < query.since) || (query.until !== undefined && time > query.until)) continue;
        if (query.eventName !== undefined && event.eventName !== query.eventName) continue;
        if (query.principal !== undefined && !madeBy(event, query.principal)) continue;
        if (query.key !== undefined && !namesKey(event, query.key)) continue;
        yield event;
        found += 1;
        if (query.limit !== undefined && found >= query.limit) return;
      }
    }
    if (page.length < PAGE) return;
    after = page.at(-1)!.key;
  }
}

/** The events of one appended batch that are still in the store. */
async function* batchEvents(reader: Reader, batch: IndexedBatch): AsyncGenerator<ChainedEvent> {
  let after = eventKey(batch.firstSeq - 1);
  for (;;) {
    const page = await reader.list(AUDIT_KEYS.events, { after, limit: PAGE });
    for (const { value } of page) {
      const chained = parseChained(value);
      if (chained.seq > batch.lastSeq) return;
      yield chained;
    }
    if (page.length < PAGE) return;
    after = page.at(-1)!.key;
  }
}
