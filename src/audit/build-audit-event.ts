import { randomUUID } from 'node:crypto';
import type { AuditEvent } from './audit-event.ts';
import { AUDIT_SOURCES, clip, type AuditedRequest } from './audit-sources.ts';

let lastSecond = -1;
let lastEventTime = '';

/** CloudTrail's time, to the second: made once a second, not once an event. */
function eventTime(time: number): string {
  const second = Math.floor(time / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastEventTime = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastEventTime;
}

/** Where events happen: the region and the account it serves. */
export interface AuditScope {
  region: string;
  account: string;
}

/**
 * A request's audit event, and whether it must be in the store before the request is answered:
 * a change that succeeded must; reads, cryptographic operations and refusals may wait for the
 * next flush. Undefined for a request no audited surface served (an unknown route, /healthz).
 */
export function buildAuditEvent(request: AuditedRequest, scope: AuditScope): { event: AuditEvent; durable: boolean } | undefined {
  const source = Object.hasOwn(AUDIT_SOURCES, request.surface) ? AUDIT_SOURCES[request.surface] : undefined;
  if (!source) return undefined;
  const eventName = request.eventName ?? source.claimedName(request);
  const readOnly = source.readOnly(eventName);
  const failed = request.status >= 400;
  const userAgent = request.headers['user-agent'];
  const named = request.eventName !== undefined;
  const resources = named ? source.resources(eventName, request.input, request.output, scope, request) : undefined;
  // Members in sorted order, so that JSON.stringify writes the event's canonical JSON (the chain hashes it).
  const event: AuditEvent = {
    additionalEventData: named ? source.additionalEventData?.(eventName, request.input) : undefined,
    awsRegion: scope.region,
    errorCode: failed ? (request.errorCode ?? `Http${request.status}`) : undefined,
    errorMessage: failed && request.errorMessage !== undefined ? clip(request.errorMessage) : undefined,
    eventCategory: 'Management',
    eventID: randomUUID(),
    eventName,
    eventSource: source.eventSource,
    eventTime: eventTime(request.time),
    eventType: 'AwsApiCall',
    eventVersion: '1.08',
    managementEvent: true,
    readOnly,
    recipientAccountId: scope.account,
    requestID: request.requestId,
    requestParameters: !named ? null : source.requestParameters(eventName, request.input),
    resources,
    responseElements: failed || !named ? null : source.responseElements(eventName, request.output),
    sourceIPAddress: request.sourceIp,
    userAgent: clip(typeof userAgent === 'string' ? userAgent : ''),
    userIdentity: source.userIdentity(request, scope),
  };
  return { event, durable: !readOnly && !failed };
}
