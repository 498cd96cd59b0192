import type { FastifyRequest } from 'fastify';
import { CryptoUnitError } from '../../cryptounits/index.ts';
import { infrastructureError } from '../infrastructure-errors.ts';

/** Paths the server answers itself, outside every API surface. */
export const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Which API surface served a request, by its path and the operation the surface named: the one
 * place that tells surfaces apart for metrics. Requests no route answers count as 'none'.
 */
export function surfaceOf(request: FastifyRequest): string {
  const url = request.url;
  if (url.startsWith('/mgmt/')) return 'mgmt';
  if (url.startsWith('/peer/')) return 'peer';
  if (url.startsWith('/console')) return 'console';
  if (request.is404) return 'none';
  if (request.operation?.startsWith('sts:')) return 'sts';
  const path = url.split('?', 1)[0]!;
  return OPS_PATHS.has(path) ? 'ops' : 'kms';
}

/**
 * The operation as a metric label: the name a surface gave it, which names only operations
 * the surface knows, but without the unit a crypto unit command names (any caller could name
 * any unit); the route for requests that stopped before naming one.
 */
export function operationOf(request: FastifyRequest, surface: string): string {
  const operation = request.operation;
  if (surface === 'mgmt' || surface === 'console') return operation?.split(' ', 2).join(' ') ?? `${request.method} ${request.routeOptions.url ?? 'unknown'}`;
  if (surface === 'ops') return request.url.split('?', 1)[0]!;
  return operation ?? 'unknown';
}

const ERROR_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * An error's type as a metric label: the infrastructure kind, the surface's error code
 * (KMS, STS) or the crypto units' kind, or InternalError for anything unexpected.
 */
export function errorTypeOf(error: unknown): string {
  const infrastructure = infrastructureError(error);
  if (infrastructure) return infrastructure.kind;
  if (error instanceof CryptoUnitError) return error.kind;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ERROR_NAME.test(code) ? code : 'InternalError';
}
