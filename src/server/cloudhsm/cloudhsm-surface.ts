import { readFileSync } from 'node:fs';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KmsError } from '../../errors/index.ts';
import { CloudHsmError, type CloudHsmErrorCode, type CloudHsmService } from '../../hsm/index.ts';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { RequestAudit } from '../audit-hook.ts';
import { SigV4Verifier, type AccessKey, type SessionCredentials } from '../auth/sigv4.ts';
import type { KmsModel } from '../aws-json/kms-model.ts';
import { validateInput } from '../aws-json/validate-input.ts';
import { infrastructureError, type InfrastructureErrorKind } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';

export interface CloudHsmSurfaceOptions {
  service: CloudHsmService;
  accessKeys: readonly AccessKey[];
  sessions?: SessionCredentials | undefined;
  /** Decides `cloudhsm:<action>` on a resource by the caller's identity policies (the KMS policy engine). */
  authorize: (caller: Caller, action: string, resource: string) => Promise<void>;
  /** The deployment's other regions, named when a request is signed for a region that is not this one. */
  peers: Readonly<Record<string, { url: string }>>;
}

const TARGET_PREFIX = 'BaldrApiService';
const AWS_JSON_1_1 = 'application/x-amz-json-1.1';
const CONTENT_TYPES = new Set([AWS_JSON_1_1, 'application/x-amz-json-1.0']);
/** The largest input is InitializeCluster's two certificates of at most 20,000 characters each. */
const BODY_LIMIT = 256 * 1024;

/** botocore's cloudhsmv2 model, trimmed by scripts/trim-kms-model.ts --model: requests are checked against it. */
export const cloudHsmModel = JSON.parse(readFileSync(new URL('./cloudhsm-model.json', import.meta.url), 'utf8')) as KmsModel;

/**
 * Routes POST / by the service named in X-Amz-Target: `BaldrApiService.*` here. Routes without
 * this constraint (the AWS KMS surface's POST /) take every other request, so KMS's hot path
 * pays one header read.
 */
type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type RouteHandler = Parameters<ReturnType<ConstraintStrategy['storage']>['set']>[1];
const TARGET_SERVICE: ConstraintStrategy = {
  name: 'awsJsonTargetService',
  mustMatchWhenDerived: false,
  storage() {
    const handlers = new Map<unknown, RouteHandler>();
    return { get: (value) => handlers.get(value) ?? null, set: (value, handler) => void handlers.set(value, handler) };
  },
  deriveConstraint: (request) => {
    const target = request.headers['x-amz-target'];
    if (typeof target !== 'string') return '';
    const dot = target.indexOf('.');
    return dot < 0 ? target : target.slice(0, dot);
  },
};

/** SigV4 failures keep the names every AWS JSON service gives them; the rest are CloudHSM's. */
const KMS_ERRORS: Partial<Record<string, CloudHsmErrorCode>> = {
  AccessDeniedException: 'CloudHsmAccessDeniedException',
  ValidationException: 'CloudHsmInvalidRequestException',
  SerializationException: 'CloudHsmInvalidRequestException',
};
const INFRASTRUCTURE_ERRORS: Record<InfrastructureErrorKind, string> = {
  StoreUnavailable: 'CloudHsmInternalFailureException',
  MasterKeyUnavailable: 'CloudHsmInternalFailureException',
  BodyTooLarge: 'CloudHsmInvalidRequestException',
  MalformedRequest: 'CloudHsmInvalidRequestException',
  RouteNotFound: 'UnknownOperationException',
};

/**
 * The AWS CloudHSM v2 API: POST / with X-Amz-Target: BaldrApiService.<Operation>, SigV4-signed
 * for the service 'cloudhsm', AWS JSON 1.1, inputs checked against botocore's model, each
 * operation authorized as `cloudhsm:<Operation>` by the caller's identity policies, errors
 * answered as {__type, message} with X-Amzn-ErrorType.
 */
export const cloudHsmSurface: FastifyPluginAsync<CloudHsmSurfaceOptions> = (scope, { service, accessKeys, sessions, authorize, peers }) => {
  const region = service.region;
  const validRegions = `This endpoint serves ${region}; the deployment's other regions: ${Object.entries(peers)
    .map(([name, peer]) => `${name} (${peer.url})`)
    .join(', ')}.`;
  // X-Amz-Target names the operation: unsigned, it could turn a signed Describe into a Delete.
  const verifier = new SigV4Verifier(region, 'cloudhsm', accessKeys, { signedHeaders: ['X-Amz-Target'], validRegions, sessions });
  scope.addConstraintStrategy(TARGET_SERVICE);
  acceptRawBodies(scope, BODY_LIMIT, [...CONTENT_TYPES]);

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const { code, status, message } = cloudHsmError(error, request.id);
    if (status >= 500 && !(error instanceof CloudHsmError)) request.log.error({ err: error, operation: request.operation }, 'CloudHSM request failed');
    void reply
      .status(status)
      .header('content-type', AWS_JSON_1_1)
      .header('x-amzn-ErrorType', code)
      .send(Buffer.from(JSON.stringify({ __type: code, message })));
  });

  scope.post('/', { constraints: { awsJsonTargetService: TARGET_PREFIX } }, async (request: FastifyRequest, reply: FastifyReply) => {
    // Also how metrics tell this surface from KMS's, which shares POST /.
    const audit = (request.audit = { source: 'cloudhsm' } as RequestAudit);
    const body = rawBody(request);
    const accessKey = await verifier.verify({ method: request.method, url: request.url, headers: request.headers, body });
    request.accessKeyId = accessKey.accessKeyId;
    audit.caller = accessKey;
    const target = request.headers['x-amz-target'] as string;
    const name = target.slice(TARGET_PREFIX.length + 1);
    const operation = target.startsWith(`${TARGET_PREFIX}.`) && service.performs(name) ? cloudHsmModel.operations[name] : undefined;
    if (!operation?.input) throw new KmsError('UnknownOperationException', `The operation ${target} is not known to this service.`);
    request.operation = `cloudhsm:${name}`;
    audit.eventName = name;
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!CONTENT_TYPES.has(contentType)) throw new CloudHsmError('CloudHsmInvalidRequestException', 'Content-Type must be application/x-amz-json-1.1.');
    const input = (audit.input = validateInput(cloudHsmModel, operation.input, parseJson(body)));
    const caller = callerOf(accessKey);
    const output = await service.call(name as Parameters<CloudHsmService['call']>[0], input, (action, resource) => authorize(caller, action, resource));
    return reply.header('content-type', AWS_JSON_1_1).send(Buffer.from(JSON.stringify(output)));
  });
  return Promise.resolve();
};

function cloudHsmError(error: unknown, requestId: string): { code: string; status: number; message: string } {
  if (error instanceof CloudHsmError) return { code: error.code, status: error.status, message: error.message };
  if (error instanceof KmsError) return { code: KMS_ERRORS[error.code] ?? error.code, status: error.status, message: error.message };
  const infrastructure = infrastructureError(error);
  if (infrastructure) return { code: INFRASTRUCTURE_ERRORS[infrastructure.kind], status: infrastructure.status, message: infrastructure.message };
  return { code: 'CloudHsmInternalFailureException', status: 500, message: `An internal error occurred. Request ID: ${requestId}` };
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new CloudHsmError('CloudHsmInvalidRequestException', 'The request body is not valid JSON.');
  }
}
