import type { FastifyRequest } from 'fastify';
import { CryptoUnitError } from '../../cryptounits/index.ts';
import { infrastructureError } from '../infrastructure-errors.ts';

/** Paths the server answers itself, outside every API surface. */
export const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Which API surface served a request, by its path and the operation the surface named: the one
 * place that tells surfaces apart for metrics and the audit trail. Requests no route answers
 * count as 'none'. CloudHSM shares KMS's POST /: its surface says so in request.audit, so the
 * KMS hot path reads no header here.
 */
export function surfaceOf(request: FastifyRequest): string {
  const url = request.url;
  if (url.startsWith('/mgmt/')) return url.startsWith('/mgmt/v1/apikeys') ? 'iam' : 'mgmt';
  if (url.startsWith('/peer/')) return 'peer';
  if (url.startsWith('/hsm/')) return 'hsm-shell';
  if (url.startsWith('/console')) return 'console';
  if (request.is404) return 'none';
  if (url.startsWith('/api/v2/')) return 'keyprotect';
  if (url.startsWith('/api/v4/')) return 'uko';
  if (url.startsWith('/identity/') || url.startsWith('/oidc/')) return 'iam';
  if (request.operation?.startsWith('sts:')) return 'sts';
  if (request.audit?.source === 'cloudhsm') return 'cloudhsm';
  return OPS_PATHS.has(pathOf(url)) ? 'ops' : 'kms';
}

/** Surfaces whose operation names come from the surface's own list; a request refused before one is named counts by its route. */
const NAMED_BY_ROUTE = new Set(['mgmt', 'console', 'keyprotect', 'uko', 'iam', 'cloudhsm', 'hsm-shell']);

/**
 * The operation as a metric label: the name a surface gave it, which names only operations
 * the surface knows, but without the unit a crypto unit command names (any caller could name
 * any unit); the route pattern (never the URL, which holds IDs) for requests that stopped
 * before naming one.
 */
export function operationOf(request: FastifyRequest, surface: string): string {
  const operation = request.operation;
  if (NAMED_BY_ROUTE.has(surface)) return operation?.split(' ', 2).join(' ') ?? `${request.method} ${request.routeOptions.url ?? 'unknown'}`;
  if (surface === 'ops') return pathOf(request.url);
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

/** The URL without its query; no array made for it, as `split` would on every request. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
