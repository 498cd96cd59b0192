import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors/index.ts';
import { SigV4Verifier, type AccessKey } from '../auth/sigv4.ts';
import { infrastructureError, type InfrastructureErrorKind } from '../infrastructure-errors.ts';
import type { RequestAudit } from '../audit-hook.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';
import { StsError } from './sts-error.ts';
import { stsOperations, type StsDeps } from './sts-operations.ts';
import { stsErrorResponse, stsResponse } from './sts-xml.ts';

export interface StsSurfaceOptions extends Omit<StsDeps, 'hasAccessKey'> {
  region: string;
  accessKeys: readonly AccessKey[];
}

const FORM = 'application/x-www-form-urlencoded';
const VERSION = '2011-06-15';
/** STS's requests are small: a session policy is at most 2048 characters, 50 tags at most 20 KiB. */
const BODY_LIMIT = 64 * 1024;

/**
 * Tells an AWS Query request (form-encoded, no X-Amz-Target) from an AWS JSON one on POST /.
 * Routes without this constraint take what it does not claim, so the AWS JSON surface keeps
 * POST / as before; the only cost on its path is this header look-up.
 */
type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type RouteHandler = Parameters<ReturnType<ConstraintStrategy['storage']>['set']>[1];
const QUERY_PROTOCOL: ConstraintStrategy = {
  name: 'awsQueryProtocol',
  mustMatchWhenDerived: false,
  storage() {
    const handlers = new Map<unknown, RouteHandler>();
    return { get: (value) => handlers.get(value) ?? null, set: (value, handler) => void handlers.set(value, handler) };
  },
  deriveConstraint: (request) =>
    request.headers['x-amz-target'] === undefined && (request.headers['content-type'] ?? '').startsWith(FORM) ? 'query' : 'other',
};

/** Each SigV4 and infrastructure failure as STS tells it. */
const AUTH_ERRORS: Partial<Record<string, { code: string; status: number }>> = {
  UnrecognizedClientException: { code: 'InvalidClientTokenId', status: 403 },
  InvalidSignatureException: { code: 'SignatureDoesNotMatch', status: 403 },
  IncompleteSignatureException: { code: 'IncompleteSignature', status: 400 },
  MissingAuthenticationTokenException: { code: 'MissingAuthenticationToken', status: 403 },
  ExpiredTokenException: { code: 'ExpiredTokenException', status: 400 },
  AccessDeniedException: { code: 'AccessDenied', status: 403 },
};
const INFRASTRUCTURE_ERRORS: Record<InfrastructureErrorKind, string> = {
  StoreUnavailable: 'ServiceUnavailable',
  MasterKeyUnavailable: 'ServiceUnavailable',
  BodyTooLarge: 'RequestEntityTooLarge',
  MalformedRequest: 'MalformedInput',
  RouteNotFound: 'InvalidAction',
};

/**
 * The AWS Security Token Service API: POST / form-encoded with Action and Version=2011-06-15
 * (AWS Query protocol), SigV4-signed for the service 'sts', answered in STS's XML. It issues
 * temporary credentials (SessionStore) that every surface verifying SigV4 accepts.
 */
export const stsSurface: FastifyPluginAsync<StsSurfaceOptions> = (scope, options) => {
  const { region, accessKeys, sessions } = options;
  const verifier = new SigV4Verifier(region, 'sts', accessKeys, { sessions });
  const longTermKeys = new Set(accessKeys.map((key) => key.accessKeyId));
  const operations = stsOperations({ ...options, hasAccessKey: (id) => longTermKeys.has(id) });
  scope.addConstraintStrategy(QUERY_PROTOCOL);
  acceptRawBodies(scope, BODY_LIMIT, [FORM]);

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const { type, code, status, message } = stsError(error, request.id);
    if (status >= 500 && !(error instanceof StsError)) request.log.error({ err: error, operation: request.operation }, 'STS request failed');
    void reply
      .status(status)
      .header('content-type', 'text/xml')
      .send(stsErrorResponse(type, code, message, request.id));
  });

  scope.post('/', { constraints: { awsQueryProtocol: 'query' } }, async (request: FastifyRequest, reply: FastifyReply) => {
    const body = rawBody(request);
    const audit = (request.audit = { source: 'sts' } as RequestAudit);
    const accessKey = await verifier.verify({ method: request.method, url: request.url, headers: request.headers, body });
    request.accessKeyId = accessKey.accessKeyId;
    audit.caller = accessKey;
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action');
    if (action === null) throw new StsError('MissingAction', 400, 'Missing Action');
    const operation = Object.hasOwn(operations, action) && params.get('Version') === VERSION ? operations[action] : undefined;
    if (!operation)
      throw new StsError('InvalidAction', 400, `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
    request.operation = `sts:${action}`;
    audit.eventName = action;
    audit.input = Object.fromEntries(params);
    const result = (audit.output = await operation(params, accessKey));
    return reply.header('content-type', 'text/xml').send(stsResponse(action, result, request.id));
  });
  return Promise.resolve();
};

function stsError(error: unknown, requestId: string): { type: 'Sender' | 'Receiver'; code: string; status: number; message: string } {
  if (error instanceof StsError) return { type: error.status >= 500 ? 'Receiver' : 'Sender', code: error.code, status: error.status, message: error.message };
  if (error instanceof KmsError) {
    const known = AUTH_ERRORS[error.code];
    if (known) return { type: 'Sender', ...known, message: error.message };
  }
  const infrastructure = infrastructureError(error);
  if (infrastructure) {
    return {
      type: infrastructure.status >= 500 ? 'Receiver' : 'Sender',
      code: INFRASTRUCTURE_ERRORS[infrastructure.kind],
      status: infrastructure.status,
      message: infrastructure.message,
    };
  }
  return { type: 'Receiver', code: 'InternalFailure', status: 500, message: `An internal error occurred. Request ID: ${requestId}` };
}
