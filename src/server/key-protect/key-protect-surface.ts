import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { IamError, type IamTokens } from '../../iam/index.ts';
import {
  INSTANCE_POLICY_NAMES,
  KEY_POLICY_NAMES,
  KpError,
  kpErrorOf,
  POLICY_TYPE,
  type KeyProtectService,
  type KpCaller,
  type KpState,
  type RegistrationQuery,
} from '../../keyprotect/index.ts';
import type { AccessKey, SessionCredentials } from '../auth/sigv4.ts';
import { infrastructureError } from '../infrastructure-errors.ts';
import { managementScope } from '../mgmt/management-scope.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';

export interface KeyProtectSurfaceOptions {
  kp: KeyProtectService;
  tokens: IamTokens;
  region: string;
  /** SigV4 for /mgmt/v1/instances, as for the rest of the management API. */
  accessKeys: readonly AccessKey[];
  sessions?: SessionCredentials | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    kpCaller?: KpCaller;
  }
}

/** A standard key's payload may be up to 7.3 MB, base64 in JSON. */
const BODY_LIMIT = 10 * 1024 * 1024;
const VENDOR_TYPES = [
  'key',
  'key_action_wrap',
  'key_action_unwrap',
  'key_action_rewrap',
  'key_action_rotate',
  'key_action_restore',
  'registration',
  'policy',
  'import_token',
].map((name) => `application/vnd.ibm.kms.${name}+json`);
const KEY_ACTIONS = new Set(['wrap', 'unwrap', 'rewrap', 'rotate', 'enable', 'disable', 'sync', 'setKeyForDeletion', 'unsetKeyForDeletion']);
const ERROR_TYPE = 'application/vnd.ibm.kms.error+json';
const MORE_INFO = 'https://cloud.ibm.com/apidocs/key-protect';
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * IBM Key Protect's v2 API (/api/v2): bearer tokens from /identity/token, the instance in
 * `bluemix-instance`, IBM's vendor content types, collection envelopes and error body. Every
 * operation is the domain's (src/keyprotect), which authorizes it through the policy engine
 * as the KMS action it performs. Beside it, /mgmt/v1/instances for `concord instance list`.
 */
export const keyProtectSurface: FastifyPluginAsync<KeyProtectSurfaceOptions> = async (scope, options) => {
  await scope.register(apiRoutes, { ...options, prefix: '/api/v2' });
  await scope.register(instanceRoutes, { ...options, prefix: '/mgmt/v1/instances' });
};

const instanceRoutes: FastifyPluginAsync<KeyProtectSurfaceOptions> = (scope, { kp, region, accessKeys, sessions }) => {
  managementScope(scope, { region, accessKeys, sessions, bodyLimit: 1024 });
  scope.get('/', { preValidation: (request) => kp.authorizeInstances(request.caller!) }, () => ({ instances: kp.instances() }));
  return Promise.resolve();
};

const apiRoutes: FastifyPluginAsync<KeyProtectSurfaceOptions> = (scope, { kp, tokens }) => {
  acceptRawBodies(scope, BODY_LIMIT, ['application/json', ...VENDOR_TYPES]);
  const instanceId = kp.instances()[0]!.id;
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    replyError(error, request, reply);
  });
  scope.setNotFoundHandler((request, reply) => {
    replyError(new KpError('NOT_FOUND_ERR'), request, reply);
  });

  // The caller first, the instance second: neither says anything before the caller is known.
  scope.addHook('preHandler', async (request, reply) => {
    const correlation = request.headers['correlation-id'];
    if (typeof correlation === 'string') void reply.header('correlation-id', correlation);
    const identity = await tokens.authenticate(request.headers.authorization);
    request.kpCaller = { caller: identity.caller, iamId: identity.iamId };
    request.accessKeyId = identity.apiKeyId;
    if (request.headers['bluemix-instance'] !== instanceId) throw new KpError('UNAUTHORIZED_ERR', 'The instance named by bluemix-instance is not known');
    await kp.requireAllowedAddress(request.kpCaller, request.ip);
  });

  const who = (request: FastifyRequest): KpCaller => request.kpCaller!;
  const minimal = (request: FastifyRequest): boolean => request.headers.prefer === 'return=minimal';
  const op = (request: FastifyRequest, name: string) => {
    request.operation = `kp:${name}`;
    // Path IDs and query only: bodies carry payloads and plaintext (audit-sources.ts keeps an allow-list of these).
    const { caller } = request.kpCaller!;
    request.audit = {
      caller: { accessKeyId: request.accessKeyId!, principal: caller.arn },
      eventName: name,
      input: { ...(request.query as object), ...(request.params as object) },
    };
  };

  scope.post('/keys', async (request, reply) => {
    op(request, 'CreateKey');
    const key = await kp.createKey(who(request), firstResource(request), keyRingHeader(request));
    if (minimal(request)) return reply.status(201).send();
    return reply
      .status(201)
      .header('content-type', 'application/vnd.ibm.kms.key+json')
      .send(collection('application/vnd.ibm.kms.key+json', [key]));
  });
  scope.get<{ Querystring: Record<string, string | undefined> }>('/keys', async (request, reply) => {
    op(request, request.method === 'HEAD' ? 'GetKeyCollectionMetadata' : 'ListKeys');
    const { limit, offset, state, extractable } = request.query;
    const { total, keys } = await kp.keys.listKeys(who(request), {
      ...(limit !== undefined ? { limit: integer(limit, 'limit') } : {}),
      ...(offset !== undefined ? { offset: integer(offset, 'offset') } : {}),
      ...(state !== undefined ? { states: state.split(',').map((s) => kpStateParam(s)) } : {}),
      ...(extractable !== undefined ? { extractable: booleanParam(extractable, 'extractable') } : {}),
      ...(keyRingHeader(request) !== undefined ? { keyRing: keyRingHeader(request) } : {}),
    });
    void reply.header('key-total', String(total));
    return { metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: keys.length, totalCount: total }, resources: keys };
  });
  scope.get<{ Params: { id: string } }>('/keys/:id', async (request) => {
    op(request, 'GetKey');
    const id = await kp.keys.resolve(who(request), request.params.id);
    return collection('application/vnd.ibm.kms.key+json', [await kp.keys.getKey(who(request), id)]);
  });
  scope.get<{ Params: { id: string } }>('/keys/:id/metadata', async (request) => {
    op(request, 'GetKeyMetadata');
    const id = await kp.keys.resolve(who(request), request.params.id);
    return collection('application/vnd.ibm.kms.key+json', [await kp.keys.metadata(who(request), id)]);
  });
  scope.post<{ Params: { id: string; alias: string } }>('/keys/:id/aliases/:alias', async (request, reply) => {
    op(request, 'CreateKeyAlias');
    const alias = await kp.keys.createAlias(who(request), request.params.id, request.params.alias);
    return reply.status(201).send(collection('application/vnd.ibm.kms.key_alias+json', [alias]));
  });
  scope.delete<{ Params: { id: string; alias: string } }>('/keys/:id/aliases/:alias', async (request, reply) => {
    op(request, 'DeleteKeyAlias');
    await kp.keys.deleteAlias(who(request), request.params.id, request.params.alias);
    return reply.status(204).send();
  });
  scope.delete<{ Params: { id: string }; Querystring: { force?: string } }>('/keys/:id', async (request, reply) => {
    op(request, 'DeleteKey');
    const force = request.query.force === undefined ? false : booleanParam(request.query.force, 'force');
    const key = await kp.deleteKey(who(request), request.params.id, force);
    if (request.headers.prefer !== 'return=representation') return reply.status(204).send();
    return collection('application/vnd.ibm.kms.key+json', [key]);
  });
  scope.delete<{ Params: { id: string } }>('/keys/:id/purge', async (request) => {
    op(request, 'PurgeKey');
    return collection('application/vnd.ibm.kms.key+json', [await kp.keys.purgeKey(who(request), request.params.id)]);
  });
  scope.post<{ Params: { id: string } }>('/keys/:id/restore', async (request, reply) => {
    op(request, 'RestoreKey');
    const key = await kp.keys.restoreKey(who(request), request.params.id);
    return reply.status(201).send(collection('application/vnd.ibm.kms.key+json', [key]));
  });
  scope.get<{ Params: { id: string } }>('/keys/:id/versions', async (request) => {
    op(request, 'GetKeyVersions');
    const versions = await kp.keys.versions(who(request), request.params.id);
    return collection('application/vnd.ibm.kms.key_version+json', versions);
  });

  scope.post<{ Params: { id: string; action: string } }>('/keys/:id/actions/:action', async (request, reply) => {
    const { id, action } = request.params;
    // Only actions Key Protect knows name the operation: the path's is the caller's to choose.
    op(request, KEY_ACTIONS.has(action) ? action : 'UnknownAction');
    const caller = who(request);
    switch (action) {
      case 'wrap':
        return kp.keys.wrap(caller, id, optionalBody(request));
      case 'unwrap':
        return kp.keys.unwrap(caller, id, requiredBody(request));
      case 'rewrap':
        return kp.keys.rewrap(caller, id, requiredBody(request));
      case 'rotate':
        await kp.rotate(caller, id, optionalBody(request));
        return reply.status(204).send();
      case 'enable':
      case 'disable':
        await kp.keys.setEnabled(caller, id, action === 'enable');
        return reply.status(204).send();
      case 'sync':
        await kp.sync(caller, id);
        return reply.status(204).send();
      case 'setKeyForDeletion':
        await kp.policies.setForDeletion(caller, id);
        return reply.status(204).send();
      case 'unsetKeyForDeletion':
        await kp.policies.unsetForDeletion(caller, id);
        return reply.status(204).send();
      default:
        throw new KpError('BAD_BODY_ERR', `Action ${action.slice(0, 40)} is not known`, 'action');
    }
  });

  scope.post('/import_token', async (request) => {
    op(request, 'CreateImportToken');
    return kp.importTokens.create(who(request), optionalBody(request));
  });
  scope.get('/import_token', async (request) => {
    op(request, 'GetImportToken');
    return kp.importTokens.retrieve(who(request));
  });
  scope.patch<{ Params: { id: string } }>('/keys/:id', async (request) => {
    op(request, 'UpdateKey');
    await kp.keyRings.moveKey(who(request), request.params.id, firstResource(request));
    return collection('application/vnd.ibm.kms.key+json', [await kp.keys.metadata(who(request), request.params.id)]);
  });
  scope.get<{ Params: { id: string }; Querystring: { policy?: string } }>('/keys/:id/policies', async (request) => {
    op(request, 'GetKeyPolicies');
    const policies = await kp.policies.list(who(request), request.params.id, policyParam(request.query.policy, KEY_POLICY_NAMES));
    return collection(POLICY_TYPE, policies);
  });
  scope.put<{ Params: { id: string }; Querystring: { policy?: string } }>('/keys/:id/policies', async (request) => {
    op(request, 'PutKeyPolicies');
    const name = policyParam(request.query.policy, KEY_POLICY_NAMES);
    return collection(POLICY_TYPE, await kp.policies.put(who(request), request.params.id, name, collectionResources(requiredBody(request))));
  });
  scope.get<{ Querystring: { policy?: string } }>('/instance/policies', async (request) => {
    op(request, 'GetInstancePolicies');
    return collection(POLICY_TYPE, await kp.instancePolicies.list(who(request), policyParam(request.query.policy, INSTANCE_POLICY_NAMES)));
  });
  scope.put<{ Querystring: { policy?: string } }>('/instance/policies', async (request, reply) => {
    op(request, 'PutInstancePolicies');
    const name = policyParam(request.query.policy, INSTANCE_POLICY_NAMES);
    await kp.instancePolicies.put(who(request), name, collectionResources(requiredBody(request)));
    return reply.status(204).send();
  });
  scope.get('/instance/allowed_ip_port', async (request) => {
    op(request, 'GetAllowedIpPort');
    const ports = await kp.instancePolicies.allowedIpPort(who(request), request.socket.localPort ?? 0);
    return collection('application/vnd.ibm.kms.allowed_ip_metadata+json', ports);
  });
  scope.get('/key_rings', async (request) => {
    op(request, 'ListKeyRings');
    return collection('application/vnd.ibm.kms.key_ring+json', await kp.keyRings.list(who(request)));
  });
  scope.post<{ Params: { ring: string } }>('/key_rings/:ring', async (request, reply) => {
    op(request, 'CreateKeyRing');
    await kp.keyRings.create(who(request), request.params.ring);
    return reply.status(201).send();
  });
  scope.delete<{ Params: { ring: string } }>('/key_rings/:ring', async (request, reply) => {
    op(request, 'DeleteKeyRing');
    await kp.keyRings.delete(who(request), request.params.ring);
    return reply.status(204).send();
  });

  const registrationWrite =
    (mode: 'create' | 'replace' | 'update') => async (request: FastifyRequest<{ Params: { id: string; crn: string } }>, reply: FastifyReply) => {
      op(request, `${mode}Registration`);
      const registration = await kp.writeRegistration(who(request), mode, request.params.id, request.params.crn, firstResource(request));
      return reply.status(mode === 'create' ? 201 : 200).send(collection('application/vnd.ibm.kms.registration+json', [registration]));
    };
  scope.post('/keys/:id/registrations/:crn', registrationWrite('create'));
  scope.put('/keys/:id/registrations/:crn', registrationWrite('replace'));
  scope.patch('/keys/:id/registrations/:crn', registrationWrite('update'));
  scope.delete<{ Params: { id: string; crn: string } }>('/keys/:id/registrations/:crn', async (request, reply) => {
    op(request, 'deleteRegistration');
    await kp.deleteRegistration(who(request), request.params.id, request.params.crn);
    return reply.status(204).send();
  });
  const listRegistrations = async (request: FastifyRequest<{ Params: { id?: string }; Querystring: Record<string, string | undefined> }>) => {
    op(request, 'GetRegistrations');
    const { limit, offset, preventKeyDeletion, totalCount } = request.query;
    // IBM's SDK names the filter urlEncodedResourceCRNQuery; the API reference urlEncodedResourceCRN.
    const urlEncodedResourceCRN = request.query.urlEncodedResourceCRN ?? request.query.urlEncodedResourceCRNQuery;
    const query: RegistrationQuery = {
      ...(limit !== undefined ? { limit: integer(limit, 'limit') } : {}),
      ...(offset !== undefined ? { offset: integer(offset, 'offset') } : {}),
      ...(preventKeyDeletion !== undefined ? { preventKeyDeletion: booleanParam(preventKeyDeletion, 'preventKeyDeletion') } : {}),
      ...(urlEncodedResourceCRN !== undefined ? { urlEncodedResourceCRN } : {}),
    };
    const { total, page } = await kp.listRegistrations(who(request), request.params.id, query);
    const withTotal = totalCount !== undefined && booleanParam(totalCount, 'totalCount');
    return {
      metadata: { collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: page.length, ...(withTotal ? { totalCount: total } : {}) },
      resources: page,
    };
  };
  scope.get('/keys/registrations', listRegistrations);
  scope.get('/keys/:id/registrations', listRegistrations);
  scope.post('/event_ack', async (request, reply) => {
    op(request, 'EventAcknowledge');
    await kp.acknowledge(who(request), firstResource(request));
    return reply.status(204).send();
  });
  return Promise.resolve();
};

/** IBM's error body: the reason code, its message and status, and what could not be done. */
function replyError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const known = kpErrorOf(error, 'The request could not be completed');
  const kpError = known instanceof KpError ? known : error instanceof IamError ? new KpError('UNAUTHORIZED_ERR') : undefined;
  const infrastructure = kpError ? undefined : infrastructureError(error);
  if (!kpError && !infrastructure) request.log.error({ err: error }, 'Key Protect request failed');
  const status = kpError?.status ?? infrastructure?.status ?? 500;
  const code =
    kpError?.code ??
    (status === 503 || infrastructure?.kind === 'MasterKeyUnavailable' ? 'SERVICE_UNAVAILABLE_ERR' : status < 500 ? 'BAD_BODY_ERR' : 'INTERNAL_SERVER_ERR');
  const message = kpError?.reason ?? infrastructure?.message ?? 'Internal Server Error';
  const action = kpError?.action ?? 'The request could not be completed';
  // Metrics and the audit trail name the code the caller was answered (an IAM failure is UNAUTHORIZED_ERR).
  if (kpError) request.errorType = code;
  void reply
    .status(status)
    .header('content-type', ERROR_TYPE)
    .send({
      metadata: { collectionType: ERROR_TYPE, collectionTotal: 1 },
      resources: [
        {
          errorMsg: `${STATUS_TEXT[status] ?? 'Error'}: ${action}. Please see \`reasons\` for more details.`,
          reasons: [{ code, message, status, moreInfo: MORE_INFO, ...(kpError?.target ? { target: { type: 'field', name: kpError.target } } : {}) }],
        },
      ],
    });
}

const collection = (collectionType: string, resources: unknown[]) => ({ metadata: { collectionType, collectionTotal: resources.length }, resources });

function parseBody(request: FastifyRequest): Record<string, unknown> | undefined {
  const bytes = rawBody(request);
  if (bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new KpError('BAD_BODY_ERR');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KpError('BAD_BODY_ERR');
  return value as Record<string, unknown>;
}

const requiredBody = (request: FastifyRequest): Record<string, unknown> => {
  const body = parseBody(request);
  if (!body) throw new KpError('NO_BODY_ERR');
  return body;
};
const optionalBody = (request: FastifyRequest): Record<string, unknown> => parseBody(request) ?? {};

/** The `resources` of IBM's collection body {metadata, resources:[…]}, as many as its metadata says. */
function collectionResources(body: Record<string, unknown>): unknown[] {
  const { metadata, resources } = body as { metadata?: { collectionTotal?: unknown } | null; resources?: unknown };
  if (!Array.isArray(resources)) throw new KpError('BAD_BODY_ERR', 'The request could not be completed', 'resources');
  if (metadata?.collectionTotal !== undefined && metadata.collectionTotal !== resources.length) throw new KpError('COLLECTION_TOTAL_MISMATCH_ERR');
  return resources;
}

/** The one resource of IBM's collection body; a flat body is taken as it is. */
function firstResource(request: FastifyRequest): Record<string, unknown> {
  const body = requiredBody(request);
  if (!('resources' in body)) return body;
  const resources = collectionResources(body);
  if (resources.length !== 1 || typeof resources[0] !== 'object' || resources[0] === null || Array.isArray(resources[0])) {
    throw new KpError('NUM_COLLECTION_RESOURCE_ERR');
  }
  return resources[0] as Record<string, unknown>;
}

/** The key ring `x-kms-key-ring` names, if any. */
function keyRingHeader(request: FastifyRequest): string | undefined {
  const ring = request.headers['x-kms-key-ring'];
  return typeof ring === 'string' ? ring : undefined;
}

/** `?policy=`: one of the names the route knows, or none for all of them. */
function policyParam<Name extends string>(value: string | undefined, names: readonly Name[]): Name | undefined {
  if (value === undefined) return undefined;
  if (!names.includes(value as Name)) throw new KpError('BAD_BODY_ERR', 'The request could not be completed', 'policy');
  return value as Name;
}

function integer(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new KpError('BAD_BODY_ERR', 'The request could not be completed', name);
  return Number(value);
}

function booleanParam(value: string, name: string): boolean {
  if (value !== 'true' && value !== 'false') throw new KpError('BAD_BODY_ERR', 'The request could not be completed', name);
  return value === 'true';
}

function kpStateParam(value: string): KpState {
  const n = Number(value);
  if (![0, 1, 2, 3, 5].includes(n) || value.trim() === '') throw new KpError('BAD_BODY_ERR', 'The request could not be completed', 'state');
  return n as KpState;
}
