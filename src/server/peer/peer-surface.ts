import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { unsignedPeerError, type PeerAnswer, type PeerApi } from '../../regions/index.ts';
import { infrastructureError, routeNotFound } from '../infrastructure-errors.ts';
import { acceptRawBodies, rawBody } from '../raw-body.ts';

export interface PeerSurfaceOptions {
  api: PeerApi;
}

/** Peer payloads carry whole key snapshots (policies, tags, material bindings). */
const BODY_LIMIT = 1024 * 1024;

const send = (reply: FastifyReply, answer: PeerAnswer): string => {
  void reply.status(answer.status).headers(answer.headers).header('content-type', 'application/json');
  return answer.body;
};

/**
 * POST /peer/v1/<action>: region-to-region calls. The regions module authenticates the calling
 * region, checks the payload against the action's schema (regions/peer-schemas.ts, once the
 * caller is known) and signs its answers; what fails before it has authenticated anyone (a
 * body Fastify cannot take, an unknown route, an unavailable store) is answered here, short
 * and unsigned, in the same {error: {code, message}} format.
 */
export const peerSurface: FastifyPluginAsync<PeerSurfaceOptions> = (scope, { api }) => {
  acceptRawBodies(scope, BODY_LIMIT, ['application/json']);
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = peerError(error);
    if (answer.status >= 500) request.log.error({ err: error, operation: request.operation }, 'peer request failed');
    return send(reply, answer);
  });
  scope.setNotFoundHandler((request, reply) => {
    const { status, kind, message } = routeNotFound(request);
    return send(reply, unsignedPeerError(status, kind, message));
  });

  scope.post('/:action', async (request: FastifyRequest<{ Params: { action: string } }>, reply: FastifyReply) => {
    const known = api.knows(request.params.action);
    request.operation = known ? `peer:${request.params.action}` : 'peer:unknown';
    if (known) request.audit = { eventName: request.params.action, input: { action: request.params.action } };
    return send(reply, await api.handle({ action: request.params.action, headers: request.headers, body: rawBody(request) }));
  });
  return Promise.resolve();
};

/** How the peer surface answers an error the regions module did not answer itself. */
export function peerError(error: unknown): PeerAnswer {
  const infrastructure = infrastructureError(error);
  if (!infrastructure) return unsignedPeerError(500, 'PeerInternal', 'the peer region failed to handle the request');
  // The peer protocol answers every body it cannot take as malformed.
  if (infrastructure.kind === 'BodyTooLarge' || infrastructure.kind === 'MalformedRequest')
    return unsignedPeerError(400, 'MalformedPeerRequest', infrastructure.message);
  return unsignedPeerError(infrastructure.status, infrastructure.kind, infrastructure.message);
}
