import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unsignedPeerError, type PeerAnswer, type PeerApi } from '../../regions/index.ts';

const send = (reply: FastifyReply, answer: PeerAnswer): string => {
  void reply.status(answer.status).headers(answer.headers).header('content-type', 'application/json');
  return answer.body;
};

/** POST /peer/v1/<action>: region-to-region calls, authenticated and answered by the regions module. */
export function peerRoutes(app: FastifyInstance, api: PeerApi): void {
  app.post(
    '/peer/v1/:action',
    {
      // A body Fastify cannot take (too large, unreadable) is answered in the peer API's format, before anyone is authenticated.
      errorHandler(error: FastifyError, _request, reply) {
        if (error.statusCode === undefined || error.statusCode >= 500) throw error;
        const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is too large.' : 'The request body could not be read.';
        return send(reply, unsignedPeerError(400, 'MalformedPeerRequest', message));
      },
    },
    async (request: FastifyRequest<{ Params: { action: string } }>, reply: FastifyReply) => {
      request.operation = api.knows(request.params.action) ? `peer:${request.params.action}` : 'peer:unknown';
      return send(
        reply,
        await api.handle({
          action: request.params.action,
          headers: request.headers,
          body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
        }),
      );
    },
  );
}
