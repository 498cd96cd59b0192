import type { FastifyBaseLogger } from 'fastify';
import { MasterKeyUnavailableError } from '../cryptounits/index.ts';
import { KmsError } from '../errors/index.ts';
import { StoreUnavailableError } from '../store/index.ts';

/**
 * The KmsError a request answers for `error`, logged when it is not the client's doing:
 * anything unknown becomes KMSInternalException naming the request ID.
 */
export function errorAnswer(error: unknown, requestId: string, log: FastifyBaseLogger, operation: string | undefined): KmsError {
  const known = toKmsError(error);
  if (!known) log.error({ err: error, operation }, 'unexpected error');
  else if (known.status >= 500) log.warn({ err: error, operation }, known.message);
  return known ?? new KmsError('KMSInternalException', `An internal error occurred. Request ID: ${requestId}`);
}

/** An error's AWS JSON body. */
export const errorJson = (error: KmsError): string => JSON.stringify({ __type: error.code, message: error.message });

/** Maps domain and framework errors to the catalogue; anything else is unexpected. */
function toKmsError(error: unknown): KmsError | undefined {
  if (error instanceof KmsError) return error;
  if (error instanceof MasterKeyUnavailableError) return new KmsError('KeyUnavailableException', error.message);
  if (error instanceof StoreUnavailableError) return new KmsError('DependencyTimeoutException', 'The key store is unavailable; try again.');
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KmsError('RequestEntityTooLargeException', 'The request body is too large.');
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new KmsError('SerializationException', 'The request could not be read.');
  }
  return undefined;
}
