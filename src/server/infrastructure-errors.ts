import type { FastifyRequest } from 'fastify';
import { MasterKeyUnavailableError } from '../cryptounits/index.ts';
import { StoreUnavailableError } from '../store/index.ts';

/**
 * Failures of what serves a request rather than of what the request asks, and the unknown
 * route: named, given a status and a message here once, and told by each surface in its own
 * error format.
 */
export type InfrastructureErrorKind = 'StoreUnavailable' | 'MasterKeyUnavailable' | 'BodyTooLarge' | 'MalformedRequest' | 'RouteNotFound';

export interface InfrastructureError {
  status: number;
  kind: InfrastructureErrorKind;
  /** Safe to show the caller. */
  message: string;
}

/** The infrastructure error `error` is, or undefined for any other error (the surface's own, or unexpected). */
export function infrastructureError(error: unknown): InfrastructureError | undefined {
  if (error instanceof StoreUnavailableError) return { status: 503, kind: 'StoreUnavailable', message: 'The key store is unavailable; try again.' };
  // The region holds no master key the request needs until one is loaded or recovered with concord tke; the message says which.
  if (error instanceof MasterKeyUnavailableError) return { status: 409, kind: 'MasterKeyUnavailable', message: error.message };
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, kind: 'BodyTooLarge', message: 'The request body is too large.' };
  // Fastify refused the request as it read it: a length that does not match, an aborted upload.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500)
    return { status: statusCode, kind: 'MalformedRequest', message: 'The request could not be read.' };
  return undefined;
}

/** A request no route of the server, or of the surface under whose prefix it falls, answers. */
export const routeNotFound = (request: FastifyRequest): InfrastructureError => ({
  status: 404,
  kind: 'RouteNotFound',
  message: `No route for ${request.method} ${request.url.split('?')[0]}`,
});
