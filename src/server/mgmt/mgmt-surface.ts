import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { CryptoUnitError, type CommandName, type RegionCryptoUnit, type Rewrapper, type SignedCommand, type UnitErrorKind } from '../../cryptounits/index.ts';
import { KmsError } from '../../errors/index.ts';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import { SigV4Verifier, type AccessKey, type SessionCredentials } from '../auth/sigv4.ts';
import { infrastructureError, routeNotFound, type InfrastructureErrorKind } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { jsonBodyValidator } from './json-body-validator.ts';
import { commandBody, REWRAP_BODY, type RewrapBody } from './mgmt-schemas.ts';

export interface MgmtApi {
  units: RegionCryptoUnit;
  rewrapper: Rewrapper;
  /** Throws AccessDeniedException unless the caller's identity policies allow `concord:<action>`. */
  authorize(caller: Caller, action: string): Promise<void>;
}

export interface MgmtSurfaceOptions {
  api: MgmtApi;
  region: string;
  accessKeys: readonly AccessKey[];
  /** Temporary credentials STS issued; without them a request with a session token is refused. */
  sessions?: SessionCredentials | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The SigV4 service name management requests are signed for. */
export const MGMT_SERVICE = 'concord-mgmt';

/** Unit commands and re-wrap batches are small. */
const BODY_LIMIT = 64 * 1024;
const DEFAULT_REWRAP_BATCH = 1000;

const STATUS: Record<UnitErrorKind, number> = { NotFound: 404, InvalidRequest: 400, SignatureRequired: 403, StaleNonce: 409, InvalidState: 409 };
/** The error code each infrastructure error is told as. */
const CODES: Record<InfrastructureErrorKind, string> = {
  StoreUnavailable: 'StoreUnavailable',
  MasterKeyUnavailable: 'MasterKeyUnavailable',
  BodyTooLarge: 'RequestTooLarge',
  MalformedRequest: 'InvalidRequest',
  RouteNotFound: 'NotFound',
};
/** The IAM action (after `concord:`) an identity policy must allow for each unit command. */
const COMMAND_ACTIONS: Record<CommandName, string> = {
  'admin-add': 'AddCryptoUnitAdministrator',
  'admin-remove': 'RemoveCryptoUnitAdministrator',
  'thresholds-set': 'SetCryptoUnitThresholds',
  'mk-generate': 'GenerateMasterKey',
  'mk-export': 'ExportMasterKey',
  'mk-load': 'LoadMasterKey',
  'mk-commit': 'CommitMasterKey',
  'mk-set': 'SetMasterKey',
  'mk-recover': 'RecoverMasterKey',
  zeroize: 'ZeroizeCryptoUnit',
};
const COMMAND_BODY = commandBody(Object.keys(COMMAND_ACTIONS));

interface MgmtErrorAnswer {
  status: number;
  error: string;
  message: string;
}

/**
 * The crypto unit management API that `concord tke` talks to. Requests are signed with SigV4
 * for the service 'concord-mgmt' by one of the region's access keys, whose principal's
 * identity policies must allow the `concord:` action of the request; bodies are JSON checked
 * by route schemas (mgmt-schemas.ts) once the caller is authenticated and, where the route
 * alone names the action, authorized; errors answer {error, message}.
 */
export const mgmtSurface: FastifyPluginAsync<MgmtSurfaceOptions> = (scope, { api, region, accessKeys, sessions }) => {
  const verifier = new SigV4Verifier(region, MGMT_SERVICE, accessKeys, { sessions });
  acceptRawBodies(scope, BODY_LIMIT, ['application/json']);
  scope.setValidatorCompiler(jsonBodyValidator);
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = mgmtError(error, request.id);
    if (answer.status >= 500) request.log.error({ err: error }, 'management request failed');
    void reply.status(answer.status).send({ error: answer.error, message: answer.message });
  });
  scope.setNotFoundHandler((request, reply) => {
    const { status, kind, message } = routeNotFound(request);
    void reply.status(status).send({ error: CODES[kind], message });
  });

  // Authenticated before anything else is looked at; an unknown route answers 404 to anyone, as elsewhere.
  scope.addHook('preValidation', async (request) => {
    if (request.is404) return;
    const accessKey = await verifier.verify({ method: request.method, url: request.url, headers: request.headers, body: rawBody(request) });
    request.accessKeyId = accessKey.accessKeyId;
    request.caller = callerOf(accessKey);
    request.audit = { caller: accessKey };
  });
  /** Authorizes a route's own action before its body is read: a caller not allowed it is refused whatever it sent. */
  const allows = (action: string) => (request: FastifyRequest) => {
    request.audit = { ...request.audit, eventName: action, input: { unitId: (request.params as { id?: string }).id } };
    return api.authorize(request.caller!, action);
  };

  scope.get('/units', { preValidation: allows('ListCryptoUnits') }, async () => {
    // Another node may have changed a unit within the last second: a command signed for a stale nonce would be refused.
    await api.units.refresh();
    return { region, units: api.units.units.map((u) => u.info()) };
  });
  scope.get<{ Params: { id: string } }>('/units/:id', { preValidation: allows('DescribeCryptoUnit') }, async (request) => {
    await api.units.refresh();
    return api.units.unit(request.params.id).info();
  });
  scope.post<{ Params: { id: string }; Body: SignedCommand }>('/units/:id/commands', { schema: { body: COMMAND_BODY } }, async (request) => {
    const { command, args, nonce, signatures } = request.body;
    // The request log line then says which command ran on which unit: the audit trail of the ceremony.
    request.operation = `tke ${command} ${request.params.id}`;
    request.audit = { ...request.audit, eventName: COMMAND_ACTIONS[command], input: { unitId: request.params.id, command } };
    await api.authorize(request.caller!, COMMAND_ACTIONS[command]);
    return api.units.unit(request.params.id).execute({ command, args, nonce, signatures });
  });
  scope.get('/rewrap', { preValidation: allows('GetRewrapStatus') }, async () => ({
    total: await api.rewrapper.count(),
    pattern: api.units.wrapPattern() ?? null,
  }));
  scope.post<{ Body: RewrapBody }>('/rewrap', { preValidation: allows('RewrapKeyMaterial'), schema: { body: REWRAP_BODY } }, async (request) => {
    const { pattern, cursor, limit } = request.body;
    request.audit = { ...request.audit, input: { pattern, cursor, limit } };
    return api.rewrapper.batch(pattern, cursor, limit ?? DEFAULT_REWRAP_BATCH);
  });
  return Promise.resolve();
};

/** How the management API answers an error. */
function mgmtError(error: unknown, requestId: string): MgmtErrorAnswer {
  if (error instanceof CryptoUnitError) return { status: STATUS[error.kind], error: error.kind, message: error.message };
  if (error instanceof KmsError) {
    const status = error.status >= 500 ? error.status : error.code === 'UnrecognizedClientException' ? 401 : 403;
    return { status, error: error.code, message: status >= 500 ? internal(requestId) : error.message };
  }
  const infrastructure = infrastructureError(error);
  if (infrastructure) return { status: infrastructure.status, error: CODES[infrastructure.kind], message: infrastructure.message };
  return { status: 500, error: 'InternalError', message: internal(requestId) };
}

const internal = (requestId: string): string => `An internal error occurred. Request ID: ${requestId}`;
