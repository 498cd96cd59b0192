import { randomUUID } from 'node:crypto';
import http from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { KeyService } from '../kms/index.ts';
import type { PeerApi } from '../regions/index.ts';
import { SigV4Verifier, type AccessKey } from './auth/sigv4.ts';
import { AWS_JSON_1_1, awsJsonHandler, isAwsJsonRequest } from './aws-json/aws-json-handler.ts';
import { errorAnswer, errorJson } from './error-answer.ts';
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

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request line in the log names the request by. */
    operation?: string;
    accessKeyId?: string;
  }
}

/** One region's HTTP server: the AWS JSON API at POST / and GET /healthz. */
export function buildRegionServer({ service, accessKeys, logger, bodyLimit = DEFAULT_BODY_LIMIT, mgmt, peerApi }: RegionServerOptions): FastifyInstance {
  const awsJson = awsJsonHandler({ service, verifier: new SigV4Verifier(service.ctx.region, 'kms', accessKeys), logger, bodyLimit });
  let closing = false;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    childLoggerFactory: requestLoggerFactory,
    // The AWS JSON API skips Fastify (see awsJsonHandler) until the server closes, when Fastify
    // answers every request 503. The timeouts are the ones Fastify gives a server it makes.
    serverFactory: (fastify, options) => {
      const timeouts = options as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
      const server = http.createServer((request, response) => (!closing && isAwsJsonRequest(request) ? awsJson : fastify)(request, response));
      server.keepAliveTimeout = timeouts.keepAliveTimeout;
      server.requestTimeout = timeouts.requestTimeout;
      server.setTimeout(timeouts.connectionTimeout);
      return server;
    },
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  // Every body arrives as a Buffer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

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

  // A Buffer body: for a string, Fastify would append `; charset=utf-8` to the content type.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const reported = errorAnswer(error, request.id, request.log, request.operation);
    void reply.status(reported.status).header('content-type', AWS_JSON_1_1).header('x-amzn-ErrorType', reported.code).send(Buffer.from(errorJson(reported)));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ message: `No route for ${request.method} ${request.url.split('?')[0]}` });
  });

  app.get('/healthz', async () => ({ status: 'ok', region: service.ctx.region }));
  if (mgmt) mgmtRoutes(app, mgmt, service.ctx.region, accessKeys);
  if (peerApi) peerRoutes(app, peerApi);
  return app;
}
