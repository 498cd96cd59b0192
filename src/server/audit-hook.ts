import type { FastifyInstance } from 'fastify';
import type { AuditCaller, AuditHsmActor, AuditTrail } from '../audit/index.ts';
import { surfaceOf } from './ops/index.ts';

/**
 * What a surface tells the audit trail about a request, set as the surface learns it: its audit
 * source (by default the surface the path names), then the authenticated caller, the operation,
 * its input and its output. Only the allow-listed parts of input and output are kept
 * (src/audit/audit-sources.ts), so a surface hands over what it has without copying.
 */
export interface RequestAudit {
  source?: string;
  caller?: AuditCaller;
  /** The HSM endpoint's caller: the HSM addressed and its user. */
  hsm?: AuditHsmActor;
  eventName?: string;
  input?: unknown;
  output?: unknown;
}

/**
 * Every request of an audited surface, allowed or refused, becomes an audit event as its answer
 * is sent; a successful change's answer waits until its event is in the store. Should that write
 * fail, the request is answered with the surface's error for it (the store unavailable) instead.
 */
export function recordAuditEvents(app: FastifyInstance, trail: AuditTrail): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    // A request signed for another region is that region's to record: it authenticates and serves it.
    if (request.forwardedTo !== undefined) {
      done(null, payload);
      return;
    }
    const audit = request.audit;
    const written = trail.record({
      surface: audit?.source ?? surfaceOf(request),
      eventName: audit?.eventName,
      caller: audit?.caller,
      hsm: audit?.hsm,
      input: audit?.input,
      output: audit?.output,
      route: `${request.method} ${request.routeOptions.url ?? 'unknown'}`,
      headers: request.headers,
      status: reply.statusCode,
      errorCode: request.errorType,
      // An unexpected error's message is the code's, not the caller's: it stays in the log.
      errorMessage: request.errorType === 'InternalError' ? undefined : request.errorMessage,
      sourceIp: request.ip,
      requestId: request.id,
      time: Date.now(),
    });
    if (!written) {
      done(null, payload);
      return;
    }
    written.then(
      () => {
        done(null, payload);
      },
      (error: unknown) => {
        done(error as Error);
      },
    );
  });
}
