import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { etagOf, type Uko } from '../../uko/index.ts';
import type { KeyProtectService, KpCaller } from '../../keyprotect/index.ts';
import type { Caller, KeyService } from '../../kms/index.ts';
import { managedKeyView, viewContext } from '../uko/index.ts';
import { ConsoleError } from './console-error.ts';

export interface IbmRoutesOptions {
  service: KeyService;
  keyProtect?: KeyProtectService | undefined;
  uko?: Uko | undefined;
}

/**
 * The console's pages over the IBM surfaces: a root key's associated resources and their
 * synchronization (Key Protect), and managed keys with Verify sync and Sync key (UKO). Each is
 * the domain's own call with the session's caller: Key Protect authorizes as its API does
 * (kms:DescribeKey on the key), UKO through `authorizeUko` with the API operation's action, and
 * a sync needs the ETag the page read, as the API's If-Match does.
 */
export function ibmRoutes(scope: FastifyInstance, { service, keyProtect, uko }: IbmRoutesOptions): void {
  const caller = (request: FastifyRequest): Caller => request.consoleCaller!;
  const kpCaller = (request: FastifyRequest): KpCaller => ({ caller: caller(request), iamId: request.consoleSession!.principal });
  const requireKp = (): KeyProtectService => {
    if (!keyProtect) throw new ConsoleError(404, 'NotFound', `Region ${service.ctx.region} does not serve Key Protect.`);
    return keyProtect;
  };
  const requireUko = (): Uko => {
    if (!uko) throw new ConsoleError(404, 'NotFound', `Region ${service.ctx.region} does not serve Unified Key Orchestrator.`);
    return uko;
  };
  const audited = (request: FastifyRequest, source: string, eventName: string) => {
    request.operation = eventName;
    request.audit = { ...request.audit, source, eventName };
  };
  const noStore = (reply: FastifyReply) => void reply.header('cache-control', 'no-store');

  scope.get<{ Params: { id: string } }>('/api/key-protect/keys/:id/registrations', async (request, reply) => {
    audited(request, 'key-protect', 'ListRegistrations');
    const { page, total } = await requireKp().listRegistrations(kpCaller(request), request.params.id, { limit: 200 });
    noStore(reply);
    return { registrations: page, total };
  });
  scope.post<{ Params: { id: string } }>('/api/key-protect/keys/:id/sync', async (request, reply) => {
    audited(request, 'key-protect', 'SyncAssociatedResources');
    await requireKp().sync(kpCaller(request), request.params.id);
    return reply.status(204).send();
  });

  const keyAnswer = async (request: FastifyRequest, reply: FastifyReply, key: Parameters<typeof managedKeyView>[1]) => {
    void reply.header('etag', etagOf(key));
    noStore(reply);
    return managedKeyView(await viewContext(requireUko(), ''), key, request.id);
  };
  scope.get('/api/uko/managed-keys', async (request, reply) => {
    audited(request, 'uko', 'ListManagedKeys');
    await service.authorizeUko(caller(request), 'ListManagedKeys');
    const orchestrator = requireUko();
    const [keys, ctx] = await Promise.all([orchestrator.keys.list(), viewContext(orchestrator, '')]);
    noStore(reply);
    return { managed_keys: keys.map((key) => managedKeyView(ctx, key, request.id)) };
  });
  scope.get<{ Params: { id: string } }>('/api/uko/managed-keys/:id', async (request, reply) => {
    audited(request, 'uko', 'GetManagedKey');
    await service.authorizeUko(caller(request), 'GetManagedKey');
    return keyAnswer(request, reply, await requireUko().keys.get(request.params.id));
  });
  // Verify sync asks every keystore what it holds and records the flags: a change, so a POST with the CSRF token.
  scope.post<{ Params: { id: string } }>('/api/uko/managed-keys/:id/verify-sync', async (request, reply) => {
    audited(request, 'uko', 'GetKeyDistributionStatusForKeystores');
    await service.authorizeUko(caller(request), 'GetKeyDistributionStatusForKeystores');
    return keyAnswer(request, reply, await requireUko().verify(request.params.id));
  });
  scope.post<{ Params: { id: string } }>('/api/uko/managed-keys/:id/sync', async (request, reply) => {
    audited(request, 'uko', 'SyncManagedKey');
    await service.authorizeUko(caller(request), 'SyncManagedKey');
    return keyAnswer(request, reply, await requireUko().sync(request.params.id, request.headers['if-match']));
  });
}
