import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuditTrail } from '../audit/index.ts';
import type { IamTokens } from '../iam/index.ts';
import type { KeyProtectService } from '../keyprotect/index.ts';
import type { KeyService } from '../kms/index.ts';
import type { PeerApi, PeerBacklog } from '../regions/index.ts';
import { recordAuditEvents, type RequestAudit } from './audit-hook.ts';
import type { AccessKey } from './auth/sigv4.ts';
import { awsJsonSurface } from './aws-json/aws-json-surface.ts';
import { iamTokenSurface } from './iam-token/index.ts';
import { keyProtectSurface } from './key-protect/index.ts';
import { cloudHsmSurface, type CloudHsmSurfaceOptions } from './cloudhsm/cloudhsm-surface.ts';
import { consoleSurface } from './console/index.ts';
import { hsmShellSurface, type HsmShellSurfaceOptions } from './hsm-shell/index.ts';
import { infrastructureError, routeNotFound } from './infrastructure-errors.ts';
import { mgmtSurface, type MgmtApi } from './mgmt/mgmt-surface.ts';
import { errorTypeOf, MetricsListener, operationOf, opsRoutes, Readiness, RegionMetrics, surfaceOf, type MetricsAccess } from './ops/index.ts';
import { peerSurface } from './peer/peer-surface.ts';
import { acceptRawBodies } from './raw-body.ts';
import { requestLoggerFactory } from './request-logger.ts';
import { stsSurface, type SessionStore, type StsRole } from './sts/index.ts';
import { ukoSurface, type UkoSurfaceOptions } from './uko/index.ts';

export interface RegionServerOptions {
  service: KeyService;
  accessKeys: readonly AccessKey[];
  logger: Logger;
  /** The crypto unit management API (/mgmt/v1), when the region has managed crypto units. */
  mgmt?: MgmtApi;
  /** The region-to-region API, when the region has peers. */
  peerApi?: PeerApi;
  /** Temporary credentials: the STS API, and the sessions it issued accepted on every SigV4 surface. */
  sts?: { sessions: SessionStore; roles: readonly StsRole[] };
  /** The deployment's other regions and where they listen. */
  peers?: Readonly<Record<string, { url: string }>>;
  /** What the replication outbox holds for each peer, for /metrics. */
  replicationBacklog?: () => Promise<PeerBacklog[]>;
  /** IAM-style tokens for the IBM surfaces: /identity/token, /oidc/token and /mgmt/v1/apikeys. */
  iam?: IamTokens;
  /** The Key Protect API (/api/v2), with its bearer tokens from `iam`. */
  keyProtect?: KeyProtectService;
  /** The CloudHSM v2 API (POST / with X-Amz-Target: BaldrApiService.*), when the region has HSM clusters. */
  cloudhsm?: Pick<CloudHsmSurfaceOptions, 'service' | 'authorize'>;
  /** The endpoint of the HSM shells (/hsm/v1), sessions of HSM users. */
  hsmShell?: HsmShellSurfaceOptions;
  /** Who may read GET /metrics; by default no one. */
  metrics?: MetricsAccess;
  /** The region's audit trail: every request of every surface is recorded in it. */
  audit?: AuditTrail;
  /** The Unified Key Orchestrator API (/api/v4), with how its bearer tokens are authenticated. */
  uko?: UkoSurfaceOptions;
}

declare module 'fastify' {
  /** What a surface tells the request's log line. */
  interface FastifyRequest {
    operation?: string;
    accessKeyId?: string;
    /** The authenticated caller's ARN (a role session's assumed-role ARN). */
    principal?: string;
    /** The key the request names (key ID, ARN or alias), or the key its answer reports. */
    keyId?: string;
    /** The region a request signed for it was forwarded to, and the request ID that region gave it. */
    forwardedTo?: string;
    forwardedRequestId?: string;
    /** What the request failed with, for metrics. */
    errorType?: string;
    errorMessage?: string;
    /** What the surface tells the audit trail. */
    audit?: RequestAudit;
  }
}

/** Unknown routes read their body too, so they answer 404 whatever they are sent; this bounds it. */
const ROOT_BODY_LIMIT = 1024 * 1024;

/**
 * One region's HTTP server: GET /healthz, /readyz and /metrics, a 404 for unknown routes, a
 * request ID, a metrics count and a log line for every request, and each API surface as an
 * encapsulated plugin with its own authentication, body limit, validation and error format.
 */
export function buildRegionServer(options: RegionServerOptions): FastifyInstance {
  const { service, accessKeys, logger, mgmt, peerApi, sts, iam, keyProtect, uko, cloudhsm, peers = {}, metrics: metricsAccess = {} } = options;
  // Typed as Fastify's logger so the instance is a plain FastifyInstance, not one generic over pino's Logger.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    childLoggerFactory: requestLoggerFactory,
  });
  acceptRawBodies(app, ROOT_BODY_LIMIT);
  const { region, store, unit } = service.ctx;
  const readiness = new Readiness({ region, store, unit, peers, log: logger });
  const metrics = new RegionMetrics({
    region,
    readiness,
    store,
    units: mgmt && (() => mgmt.units.units),
    replicationBacklog: options.replicationBacklog,
    peers: Object.keys(peers),
  });

  // Callback hooks: on the hot path they cost less than async ones.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-amzn-RequestId', request.id);
    done();
  });
  // Only requests that fail pass here.
  app.addHook('onError', (request, _reply, error, done) => {
    request.errorType = errorTypeOf(error);
    request.errorMessage = error.message;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const surface = surfaceOf(request);
    const status = reply.statusCode;
    const error = request.errorType ?? (request.is404 ? 'RouteNotFound' : status >= 400 ? `Http${status}` : undefined);
    metrics.recordRequest(surface, operationOf(request, surface), status, error, reply.elapsedTime / 1000);
    if (logger.isLevelEnabled('info')) {
      // Through the region's logger, not the request's: no child logger is made per request.
      logger.info(
        {
          reqId: request.id,
          operation: request.operation,
          accessKeyId: request.accessKeyId,
          principal: request.principal,
          keyId: request.keyId,
          error,
          forwardedTo: request.forwardedTo,
          forwardedRequestId: request.forwardedRequestId,
          status,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      );
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = infrastructureError(error);
    if (!known) request.log.error({ err: error }, 'unexpected error');
    void reply.status(known?.status ?? 500).send({ message: known?.message ?? `An internal error occurred. Request ID: ${request.id}` });
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, message } = routeNotFound(request);
    void reply.status(status).send({ message });
  });
  opsRoutes(app, region, readiness, metrics, metricsAccess);
  if (metricsAccess.listen) {
    const listener = new MetricsListener(metrics, metricsAccess.listen, logger);
    app.addHook('onReady', async () => {
      logger.info({ url: await listener.start() }, 'metrics listening');
    });
    app.addHook('onClose', () => listener.close());
  }

  if (options.audit) recordAuditEvents(app, options.audit);

  const sessions = sts?.sessions;
  void app.register(awsJsonSurface, { service, accessKeys, sessions, peers });
  if (sts)
    void app.register(stsSurface, {
      region: service.ctx.region,
      account: service.ctx.account,
      accessKeys,
      ...sts,
      authorizeAssumeRole: service.authorizeAssumeRole,
      authorizeSts: service.authorizeSts,
    });
  if (cloudhsm) void app.register(cloudHsmSurface, { ...cloudhsm, accessKeys, sessions, peers });
  if (options.hsmShell) void app.register(hsmShellSurface, { prefix: '/hsm/v1', ...options.hsmShell });
  if (mgmt) void app.register(mgmtSurface, { prefix: '/mgmt/v1', api: mgmt, region: service.ctx.region, accessKeys, sessions });
  if (iam) void app.register(iamTokenSurface, { tokens: iam, region: service.ctx.region, accessKeys, sessions, authorize: service.authorizeManagement });
  if (iam && keyProtect) void app.register(keyProtectSurface, { kp: keyProtect, tokens: iam, region: service.ctx.region, accessKeys, sessions });
  if (peerApi) void app.register(peerSurface, { prefix: '/peer/v1', api: peerApi });
  if (uko) void app.register(ukoSurface, { prefix: '/api/v4', ...uko });
  void app.register(consoleSurface, { prefix: '/console', service, accessKeys, mgmt, peers, keyProtect, uko: uko?.uko, iam, cloudhsm, audit: options.audit });
  return app;
}
