import type { FastifyInstance } from 'fastify';
import { queryAuditEvents, type AuditEvent, type AuditTrail } from '../../audit/index.ts';
import type { KeyService } from '../../kms/index.ts';
import { kmsModel } from '../aws-json/kms-model.ts';
import { validateInput } from '../aws-json/validate-input.ts';
import { ConsoleError } from './console-error.ts';

export interface AuditRoutesOptions {
  service: KeyService;
  audit?: AuditTrail | undefined;
}

const DAY_MS = 24 * 3600 * 1000;
/** The key page shows the newest events of the last week by default, and looks back at most as far as AWS's CloudTrail event history does. */
const DEFAULT_DAYS = 7;
const MAX_DAYS = 90;
/** What one page shows; older events of the period are counted, not sent. */
const NEWEST = 100;

/**
 * A key's audit events for the key page: the newest events of the region's audit trail that name
 * the key, newest first. Reading the trail is `concord:LookupAuditEvents` in the caller's
 * identity policies (CloudTrail's LookupEvents is an identity permission too), and the key must
 * be one the caller may describe, so the page tells nothing of a key the caller cannot see.
 */
export function auditRoutes(scope: FastifyInstance, { service, audit }: AuditRoutesOptions): void {
  scope.get<{ Params: { id: string }; Querystring: { days?: string; changes?: string } }>('/api/keys/:id/audit-events', async (request, reply) => {
    request.operation = 'LookupAuditEvents';
    request.audit = { ...request.audit, source: 'mgmt', eventName: 'LookupAuditEvents' };
    if (!audit) throw new ConsoleError(404, 'NotFound', `Region ${service.ctx.region} keeps no audit trail.`);
    const days = request.query.days === undefined ? DEFAULT_DAYS : Number(request.query.days);
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw new ConsoleError(400, 'InvalidRequest', `days is a whole number from 1 to ${MAX_DAYS}.`);
    // Only the events that changed something, as CloudTrail's read-only filter shows them: a page view is several reads.
    const changesOnly = request.query.changes === 'true';
    const caller = request.consoleCaller!;
    await service.authorizeManagement(caller, 'LookupAuditEvents');
    const input = validateInput(kmsModel, kmsModel.operations.DescribeKey!.input!, { KeyId: request.params.id }) as { KeyId: string };
    const keyId = (await service.call('DescribeKey', input, caller)).KeyMetadata!.KeyId;
    // Events this node holds still unwritten are written first, so the page shows what was just done.
    await audit.flush();
    const newest: AuditEvent[] = [];
    let found = 0;
    for await (const event of queryAuditEvents(service.ctx.store, { key: keyId, since: Date.now() - days * DAY_MS })) {
      if (changesOnly && event.readOnly) continue;
      found++;
      newest.push(event);
      if (newest.length > NEWEST) newest.shift();
    }
    void reply.header('cache-control', 'no-store');
    return { keyId, days, changesOnly, events: newest.reverse(), older: found - newest.length };
  });
}
