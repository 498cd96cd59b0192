import type { FastifyInstance, FastifyRequest } from 'fastify';

const EMPTY = Buffer.alloc(0);

/**
 * Makes `scope` take every request body as bytes, up to `bodyLimit`: signatures cover the
 * bytes, and a surface parses them itself once the caller is authenticated. Naming the
 * content types a surface expects lets Fastify's parser cache hit on them; the catch-all
 * alone makes it parse the Content-Type header anew on every request.
 */
export function acceptRawBodies(scope: FastifyInstance, bodyLimit: number, contentTypes: readonly string[] = []): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser([...contentTypes, '*'], { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    done(null, body);
  });
}

/** The body as `acceptRawBodies` took it; empty when the request had none. */
export const rawBody = (request: FastifyRequest): Buffer => (request.body as Buffer | undefined) ?? EMPTY;
