import { randomUUID } from 'node:crypto';
import type { AuditEvent } from './audit-event.ts';
import { AUDIT_SOURCES, clip, type AuditedRequest } from './audit-sources.ts';

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
  const event: AuditEvent = {
    eventVersion: '1.08',
    userIdentity: source.userIdentity(request),
    eventTime: new Date(request.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: source.eventSource,
    eventName,
    awsRegion: scope.region,
    sourceIPAddress: request.sourceIp,
    userAgent: clip(typeof userAgent === 'string' ? userAgent : ''),
    requestParameters: request.eventName === undefined ? null : source.requestParameters(eventName, request.input),
    responseElements: failed || request.eventName === undefined ? null : source.responseElements(eventName, request.output),
    requestID: request.requestId,
    eventID: randomUUID(),
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: scope.account,
    eventCategory: 'Management',
  };
  if (failed) {
    event.errorCode = request.errorCode ?? `Http${request.status}`;
    if (request.errorMessage !== undefined) event.errorMessage = clip(request.errorMessage);
  }
  const resources = request.eventName === undefined ? undefined : source.resources(eventName, request.input, request.output, scope);
  if (resources) event.resources = resources;
  return { event, durable: !readOnly && !failed };
}
