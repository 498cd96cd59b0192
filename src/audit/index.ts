export { AuditTrail, FLUSH_INTERVAL_MS, type AuditSigner, type AuditTrailOptions } from './audit-trail.ts';
export type { AuditEvent, AuditResource, UserIdentity } from './audit-event.ts';
export type { AuditCaller, AuditedRequest, AuditHsmActor } from './audit-sources.ts';
export { verifyAuditChain, type AuditVerification } from './verify-audit-chain.ts';
export { queryAuditEvents, type AuditQuery } from './query-audit-events.ts';
