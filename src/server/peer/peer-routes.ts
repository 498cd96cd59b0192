import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PeerApi } from '../../regions/index.ts';

/** POST /peer/v1/<action>: region-to-region calls, authenticated and answered by the regions module. */
export function peerRoutes(app: FastifyInstance, api: PeerApi): void {
  app.post('/peer/v1/:action', async (request: FastifyRequest<{ Params: { action: string } }>, reply: FastifyReply) => {
    request.operation = `peer:${request.params.action}`;
    const answer = await api.handle({
      action: request.params.action,
      headers: request.headers,
      body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
    });
    void reply.status(answer.status).headers(answer.headers).header('content-type', 'application/json');
    return answer.body;
  });
}
