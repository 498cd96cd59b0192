import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors/index.ts';
import type { Caller } from '../../kms/index.ts';
import { etagOf, UkoError, type ManagedKeyRecord, type Stamped, type Uko, type UkoErrorKind } from '../../uko/index.ts';
import type { RequestAudit } from '../audit-hook.ts';
import { infrastructureError, routeNotFound } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { listPage, listQuery } from './uko-listing.ts';
import { keystoreView, managedKeyView, statusInKeystoreView, templateView, vaultView, viewContext, type ViewContext } from './uko-views.ts';

export interface UkoSurfaceOptions {
  uko: Uko;
  /** Who the request's Authorization header speaks for; rejects when it speaks for no one. */
  authenticate: (authorization: string | undefined) => Promise<{ caller: Caller; apiKeyId?: string }>;
  /** Rejects with AccessDeniedException unless the caller's identity policies allow `uko:<action>`. */
  authorize: (caller: Caller, action: string) => Promise<void>;
}

/** Bodies of UKO requests are small JSON documents. */
const BODY_LIMIT = 64 * 1024;
const MORE_INFO = 'https://cloud.ibm.com/apidocs/uko';

export const STATUS: Record<UkoErrorKind, number> = {
  unauthenticated: 401,
  invalid: 400,
  unsupported: 400,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  precondition_required: 428,
  keystore: 502,
};

interface Answer {
  status?: number;
  body?: unknown;
  /** The resource whose ETag the answer carries. */
  etagOf?: Stamped;
}

type Handler = (request: FastifyRequest, caller: Caller, ctx: () => Promise<ViewContext>) => Promise<Answer>;

const MANAGED_KEY_FILTERS = {
  'vault.id': 'vault.id',
  algorithm: 'algorithm',
  state: 'state',
  label: 'label',
  size: 'size',
  'template.id': 'template.id',
  'template.name': 'template.name',
  'referenced_keystores[].type': 'referenced_keystores[].type',
  'referenced_keystores[].name': 'referenced_keystores[].name',
  'instances[].keystore.type': 'instances[].keystore.type',
  'status_in_keystores[].keystore_sync_flag': 'status_in_keystores[].keystore_sync_flag',
  'status_in_keystores[].keystore_sync_flag_detail': 'status_in_keystores[].keystore_sync_flag_detail',
  'status_in_keystores[].status': 'status_in_keystores[].status',
};
const MANAGED_KEY_SORT = ['label', 'state', 'algorithm', 'size', 'activation_date', 'expiration_date', 'created_at', 'updated_at', 'rotated_at', 'id'];
const KEYSTORE_FILTERS = {
  type: 'type',
  name: 'name',
  description: 'description',
  group: 'groups[]',
  'groups[]': 'groups[]',
  'vault.id': 'vault.id',
  location: 'location',
};
const KEYSTORE_SORT = ['name', 'type', 'location', 'created_at', 'updated_at', 'id'];
const TEMPLATE_FILTERS = {
  name: 'name',
  naming_scheme: 'naming_scheme',
  'vault.id': 'vault.id',
  'key.algorithm': 'key.algorithm',
  'key.size': 'key.size',
  'keystores[].type': 'keystores[].type',
  'keystores[].group': 'keystores[].group',
  'type[]': 'type[]',
  state: 'state',
};
const TEMPLATE_SORT = ['name', 'state', 'keys_count', 'created_at', 'updated_at', 'id'];
const VAULT_FILTERS = { name: 'name', description: 'description' };
const VAULT_SORT = ['name', 'created_at', 'updated_at', 'id'];

/**
 * IBM Unified Key Orchestrator's API v4 (/api/v4): vaults, keystores, key templates and managed
 * keys orchestrated into the keystores. Callers present an IAM bearer token; each operation is
 * authorized as `uko:<IBM operation name>` by the caller's identity policies. Every mutation
 * takes If-Match with the resource's ETag (428 without, 412 when stale). Errors answer IBM's
 * {status_code, trace, errors[{code, message, more_info, target}]}.
 */
export const ukoSurface: FastifyPluginAsync<UkoSurfaceOptions> = (scope, { uko, authenticate, authorize }) => {
  acceptRawBodies(scope, BODY_LIMIT, ['application/json']);

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, code, message, target } = ukoError(error);
    if (status >= 500 && !infrastructureError(error)) request.log.error({ err: error, operation: request.operation }, 'UKO request failed');
    void reply.status(status).send({
      status_code: status,
      trace: request.id,
      errors: [
        { code, message: status === 500 ? `An internal error occurred. Trace: ${request.id}` : message, more_info: MORE_INFO, ...(target ? { target } : {}) },
      ],
    });
  });
  scope.setNotFoundHandler((request, reply) => {
    const { status, message } = routeNotFound(request);
    void reply.status(status).send({ status_code: status, trace: request.id, errors: [{ code: 'not_found', message, more_info: MORE_INFO }] });
  });

  const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, action: string, handler: Handler) => {
    scope.route({
      method,
      url,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        request.operation = `uko:${action}`;
        // Path IDs and query only: keystore bodies carry passwords and connection credentials.
        const audit = (request.audit = { eventName: action, input: { ...(request.query as object), ...(request.params as object) } } as RequestAudit);
        let caller: Caller;
        try {
          const identity = await authenticate(request.headers.authorization);
          caller = identity.caller;
          audit.caller = { accessKeyId: identity.apiKeyId ?? '', principal: caller.arn };
        } catch (error) {
          if (infrastructureError(error)) throw error;
          throw new UkoError('unauthenticated', 'unauthorized', 'The request carries no valid bearer token', { type: 'header', name: 'Authorization' });
        }
        await authorize(caller, action);
        let context: Promise<ViewContext> | undefined;
        const base = `${request.protocol}://${request.host}`;
        const answer = await handler(request, caller, () => (context ??= viewContext(uko, base)));
        if (answer.etagOf) {
          void reply.header('etag', etagOf(answer.etagOf));
          audit.output = { id: (answer.etagOf as { id?: unknown }).id };
        }
        if (answer.body === undefined) return reply.status(answer.status ?? 204).send();
        return reply.status(answer.status ?? 200).send(answer.body);
      },
    });
  };

  const id = (request: FastifyRequest) => (request.params as { id: string }).id;
  const ifMatch = (request: FastifyRequest) => request.headers['if-match'];
  const body = (request: FastifyRequest): unknown => {
    const raw = rawBody(request);
    if (raw.length === 0) return {};
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw new UkoError('invalid', 'invalid_body', 'The request body is not valid JSON');
    }
  };
  const url = (request: FastifyRequest) => new URL(request.url, `${request.protocol}://${request.host}`);
  const trace = (request: FastifyRequest) => request.id;
  const keyAnswer = async (request: FastifyRequest, ctx: () => Promise<ViewContext>, key: ManagedKeyRecord, status = 200): Promise<Answer> => ({
    status,
    body: managedKeyView(await ctx(), key, trace(request)),
    etagOf: key,
  });

  // Vaults
  route('GET', '/vaults', 'ListVaults', async (request, _caller, ctx) => {
    const query = listQuery(request.query, VAULT_FILTERS, VAULT_SORT);
    const c = await ctx();
    const views = await Promise.all([...c.vaults.values()].map(async (vault) => vaultView(c, vault, await uko.vaultCounts(vault.id))));
    return { body: listPage('vaults', views, query, url(request)) };
  });
  route('POST', '/vaults', 'CreateVault', async (request, caller, ctx) => {
    const vault = await uko.createVault(body(request), caller);
    return { status: 201, body: vaultView(await ctx(), vault, { keys: 0, templates: 0, keystores: 0 }), etagOf: vault };
  });
  route('GET', '/vaults/:id', 'GetVault', async (request, _caller, ctx) => {
    const vault = await uko.vaults.get(id(request));
    return { body: vaultView(await ctx(), vault, await uko.vaultCounts(vault.id)), etagOf: vault };
  });
  route('PATCH', '/vaults/:id', 'UpdateVault', async (request, caller, ctx) => {
    const vault = await uko.updateVault(id(request), ifMatch(request), body(request), caller);
    return { body: vaultView(await ctx(), vault, await uko.vaultCounts(vault.id)), etagOf: vault };
  });
  route('DELETE', '/vaults/:id', 'DeleteVault', async (request) => {
    await uko.deleteVault(id(request), ifMatch(request));
    return {};
  });

  // Keystores
  route('GET', '/keystores', 'ListKeystores', async (request, _caller, ctx) => {
    const query = listQuery(request.query, KEYSTORE_FILTERS, KEYSTORE_SORT);
    const c = await ctx();
    return {
      body: listPage(
        'keystores',
        [...c.keystores.values()].map((k) => keystoreView(c, k)),
        query,
        url(request),
      ),
    };
  });
  route('POST', '/keystores', 'CreateKeystore', async (request, caller, ctx) => {
    const { dry_run: dryRun, ...rest } = (request.query ?? {}) as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false')) {
      throw new UkoError('invalid', 'invalid_query_parameter', 'The only query parameter is dry_run, true or false', { type: 'parameter', name: 'dry_run' });
    }
    const keystore = await uko.createKeystore(body(request), dryRun === 'true', caller);
    return dryRun === 'true'
      ? { status: 200, body: keystoreView(await ctx(), keystore) }
      : { status: 201, body: keystoreView(await ctx(), keystore), etagOf: keystore };
  });
  route('GET', '/keystores/:id', 'GetKeystore', async (request, _caller, ctx) => {
    const keystore = await uko.keystores.get(id(request));
    return { body: keystoreView(await ctx(), keystore), etagOf: keystore };
  });
  route('PATCH', '/keystores/:id', 'UpdateKeystore', async (request, caller, ctx) => {
    const keystore = await uko.updateKeystore(id(request), ifMatch(request), body(request), caller);
    return { body: keystoreView(await ctx(), keystore), etagOf: keystore };
  });
  route('DELETE', '/keystores/:id', 'DeleteKeystore', async (request) => {
    if (Object.keys(request.query ?? {}).length > 0) {
      throw new UkoError(
        'unsupported',
        'invalid_query_parameter',
        'Deleting a keystore takes no mode: it is refused while the keystore holds a copy of a key that is not destroyed',
        {
          type: 'parameter',
          name: 'mode',
        },
      );
    }
    await uko.deleteKeystore(id(request), ifMatch(request));
    return {};
  });
  route('GET', '/keystores/:id/status', 'GetKeystoreStatus', async (request) => ({ body: await uko.keystoreStatus(id(request)) }));
  route('GET', '/keystores/:id/managed_keys', 'ListManagedKeysFromKeystore', async (request, _caller, ctx) => {
    const keystore = await uko.keystores.get(id(request));
    const query = listQuery(request.query, MANAGED_KEY_FILTERS, MANAGED_KEY_SORT);
    const c = await ctx();
    const keys = (await uko.keys.list()).filter((key) => key.instances.some((instance) => instance.keystoreId === keystore.id));
    return {
      body: listPage(
        'managed_keys',
        keys.map((key) => managedKeyView(c, key, trace(request))),
        query,
        url(request),
      ),
    };
  });
  route('GET', '/keystores/:id/associated_resources', 'ListAssociatedResourcesForTargetKeystore', async (request) => {
    await uko.keystores.get(id(request));
    return { body: listPage('associated_resources', [], listQuery(request.query, {}, ['id']), url(request)) };
  });

  // Key templates
  route('GET', '/templates', 'ListKeyTemplates', async (request, _caller, ctx) => {
    const query = listQuery(request.query, TEMPLATE_FILTERS, TEMPLATE_SORT);
    const c = await ctx();
    const keys = await uko.keys.list();
    const views = [...c.templates.values()].map((t) => templateView(c, t, keys.filter((key) => key.templateId === t.id).length));
    return { body: listPage('templates', views, query, url(request)) };
  });
  route('POST', '/templates', 'CreateKeyTemplate', async (request, caller, ctx) => {
    const template = await uko.createTemplate(body(request), caller);
    return { status: 201, body: templateView(await ctx(), template, 0), etagOf: template };
  });
  const templateAnswer = async (ctx: () => Promise<ViewContext>, template: Awaited<ReturnType<Uko['templates']['get']>>): Promise<Answer> => {
    const keysCount = (await uko.keys.list()).filter((key) => key.templateId === template.id).length;
    return { body: templateView(await ctx(), template, keysCount), etagOf: template };
  };
  route('GET', '/templates/:id', 'GetKeyTemplate', async (request, _caller, ctx) => templateAnswer(ctx, await uko.templates.get(id(request))));
  route('PATCH', '/templates/:id', 'UpdateKeyTemplate', async (request, caller, ctx) =>
    templateAnswer(ctx, await uko.updateTemplate(id(request), ifMatch(request), body(request), caller)),
  );
  route('DELETE', '/templates/:id', 'DeleteKeyTemplate', async (request) => {
    await uko.deleteTemplate(id(request), ifMatch(request));
    return {};
  });
  route('POST', '/templates/:id/archive', 'ArchiveKeyTemplate', async (request, caller, ctx) =>
    templateAnswer(ctx, await uko.setTemplateArchived(id(request), ifMatch(request), true, caller)),
  );
  route('POST', '/templates/:id/unarchive', 'UnarchiveKeyTemplate', async (request, caller, ctx) =>
    templateAnswer(ctx, await uko.setTemplateArchived(id(request), ifMatch(request), false, caller)),
  );

  // Managed keys
  route('GET', '/managed_keys', 'ListManagedKeys', async (request, _caller, ctx) => {
    const query = listQuery(request.query, MANAGED_KEY_FILTERS, MANAGED_KEY_SORT);
    const c = await ctx();
    const views = (await uko.keys.list()).map((key) => managedKeyView(c, key, trace(request)));
    return { body: listPage('managed_keys', views, query, url(request)) };
  });
  route('POST', '/managed_keys', 'CreateManagedKey', async (request, caller, ctx) =>
    keyAnswer(request, ctx, await uko.createManagedKey(body(request), caller), 201),
  );
  route('GET', '/managed_keys/:id', 'GetManagedKey', async (request, _caller, ctx) => keyAnswer(request, ctx, await uko.keys.get(id(request))));
  route('PATCH', '/managed_keys/:id', 'UpdateManagedKey', async (request, caller, ctx) =>
    keyAnswer(request, ctx, await uko.updateManagedKey(id(request), ifMatch(request), body(request), caller)),
  );
  route('DELETE', '/managed_keys/:id', 'DeleteManagedKey', async (request) => {
    await uko.deleteManagedKey(id(request), ifMatch(request));
    return {};
  });
  route('GET', '/managed_keys/:id/versions', 'ListManagedKeyVersions', async (request, _caller, ctx) => {
    const key = await uko.keys.get(id(request));
    const c = await ctx();
    const query = listQuery(request.query, MANAGED_KEY_FILTERS, [...MANAGED_KEY_SORT, 'version']);
    const views = key.materials.map((material) => managedKeyView(c, key, trace(request), material.version));
    return { body: listPage('managed_keys', views, query, url(request)) };
  });
  route('GET', '/managed_keys/:id/associated_resources', 'ListAssociatedResourcesForManagedKey', async (request) => {
    await uko.keys.get(id(request));
    return { body: listPage('associated_resources', [], listQuery(request.query, {}, ['id']), url(request)) };
  });
  route('GET', '/managed_keys/:id/status_in_keystores', 'GetKeyDistributionStatusForKeystores', async (request, _caller, ctx) => {
    const key = await uko.verify(id(request));
    const c = await ctx();
    return { body: { status_in_keystores: key.instances.map((instance) => statusInKeystoreView(c, instance, trace(request))) }, etagOf: key };
  });
  route('POST', '/managed_keys/:id/sync_status_in_keystores', 'SyncManagedKey', async (request, _caller, ctx) => {
    const key = await uko.sync(id(request), ifMatch(request));
    const c = await ctx();
    return { body: { status_in_keystores: key.instances.map((instance) => statusInKeystoreView(c, instance, trace(request))) }, etagOf: key };
  });
  const keyAction = (path: string, action: string, run: (id: string, ifMatch: string | undefined, caller: Caller) => Promise<ManagedKeyRecord>) => {
    route('POST', `/managed_keys/:id/${path}`, action, async (request, caller, ctx) =>
      keyAnswer(request, ctx, await run(id(request), ifMatch(request), caller)),
    );
  };
  keyAction('activate', 'ActivateManagedKey', (key, etag, caller) => uko.activate(key, etag, caller));
  keyAction('deactivate', 'DeactivateManagedKey', (key, etag, caller) => uko.deactivate(key, etag, caller));
  keyAction('destroy', 'DestroyManagedKey', (key, etag, caller) => uko.destroy(key, etag, caller));
  keyAction('rotate', 'RotateManagedKey', (key, etag, caller) => uko.rotate(key, etag, caller));
  keyAction('update_from_template', 'UpdateManagedKeyFromTemplate', (key, etag, caller) => uko.updateFromTemplate(key, etag, caller));
  return Promise.resolve();
};

function ukoError(error: unknown): { status: number; code: string; message: string; target?: { type: string; name: string } } {
  if (error instanceof UkoError) {
    return { status: STATUS[error.kind], code: error.code, message: error.message, ...(error.target ? { target: error.target } : {}) };
  }
  if (error instanceof KmsError && error.code === 'AccessDeniedException') return { status: 403, code: 'forbidden', message: error.message };
  const infrastructure = infrastructureError(error);
  if (infrastructure) {
    const code = {
      StoreUnavailable: 'service_unavailable',
      MasterKeyUnavailable: 'master_key_unavailable',
      BodyTooLarge: 'request_too_large',
      MalformedRequest: 'invalid_request',
      RouteNotFound: 'not_found',
    }[infrastructure.kind];
    return { status: infrastructure.status, code, message: infrastructure.message };
  }
  return { status: 500, code: 'internal_error', message: 'internal error' };
}
