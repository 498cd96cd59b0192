import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { KmsError } from '../errors/index.ts';
import type { KeyService } from '../kms/index.ts';
import type { PeerApi } from '../regions/index.ts';
import { MasterKeyUnavailableError } from '../cryptounits/index.ts';
import { StoreUnavailableError } from '../store/index.ts';
import { SigV4Verifier, type AccessKey } from './auth/sigv4.ts';
import { AWS_JSON_1_1, AWS_JSON_CONTENT_TYPES, awsJsonRoutes } from './aws-json/aws-json-routes.ts';
import { requestLoggerFactory } from './request-logger.ts';
import { mgmtRoutes, type MgmtApi } from './mgmt/mgmt-routes.ts';
import { peerRoutes } from './peer/peer-routes.ts';

export interface RegionServerOptions {
  service: KeyService;
  accessKeys: readonly AccessKey[];
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** The crypto unit management API (/mgmt/v1), when the region has managed crypto units. */
  mgmt?: MgmtApi;
  /** The region-to-region API, when the region has peers. */
  peerApi?: PeerApi;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** One region's HTTP server: the AWS JSON API at POST / and GET /healthz. */
export function buildRegionServer({ service, accessKeys, logger, bodyLimit = DEFAULT_BODY_LIMIT, mgmt, peerApi }: RegionServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    childLoggerFactory: requestLoggerFactory,
  });
  // X-Amz-Target names the operation: unsigned, it could turn a signed Decrypt into any other call.
  const verifier = new SigV4Verifier(service.ctx.region, 'kms', accessKeys, { signedHeaders: ['X-Amz-Target'] });

  // Every body arrives as a Buffer. The AWS JSON types are named so Fastify's parser cache hits
  // on them: the catch-all alone makes it parse the Content-Type header anew on every request.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...AWS_JSON_CONTENT_TYPES, '*'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Callback hooks: on the hot path they cost less than async ones.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-amzn-RequestId', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (logger.isLevelEnabled('info')) {
      request.log.info(
        { operation: request.operation, accessKeyId: request.accessKeyId, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toKmsError(error);
    if (!known) request.log.error({ err: error, operation: request.operation }, 'unexpected error');
    else if (known.status >= 500) request.log.warn({ err: error, operation: request.operation }, known.message);
    const reported = known ?? new KmsError('KMSInternalException', `An internal error occurred. Request ID: ${request.id}`);
    void reply
      .status(reported.status)
      .header('content-type', AWS_JSON_1_1)
      .header('x-amzn-ErrorType', reported.code)
      .send(Buffer.from(JSON.stringify({ __type: reported.code, message: reported.message })));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ message: `No route for ${request.method} ${request.url.split('?')[0]}` });
  });

  app.get('/healthz', async () => ({ status: 'ok', region: service.ctx.region }));
  awsJsonRoutes(app, service, verifier);
  if (mgmt) mgmtRoutes(app, mgmt, service.ctx.region, accessKeys);
  if (peerApi) peerRoutes(app, peerApi);
  return app;
}

/** Maps domain and framework errors to the catalogue; anything else is unexpected. */
function toKmsError(error: FastifyError): KmsError | undefined {
  if (error instanceof KmsError) return error;
  if (error instanceof MasterKeyUnavailableError) return new KmsError('KeyUnavailableException', error.message);
  if (error instanceof StoreUnavailableError) return new KmsError('DependencyTimeoutException', 'The key store is unavailable; try again.');
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KmsError('RequestEntityTooLargeException', 'The request body is too large.');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new KmsError('SerializationException', 'The request could not be read.');
  }
  return undefined;
}
