import { createHash, timingSafeEqual } from 'node:crypto';
import { UkoError } from './uko-error.ts';

/** Every stored resource counts its changes; its ETag is that count hashed with its ID, so it reveals neither. */
export interface Revisioned {
  id: string;
  revision: number;
}

export const etagOf = (record: Revisioned): string => `"${createHash('sha256').update(`${record.id}\n${record.revision}`).digest('base64url').slice(0, 27)}"`;

/**
 * A change needs the ETag the caller last read: none is 428, another one (someone changed the
 * resource since) 412. IBM requires If-Match on every mutation without documenting these two
 * codes; they are RFC 6585's and RFC 9110's.
 */
export function checkIfMatch(record: Revisioned, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch.trim() === '') {
    throw new UkoError('precondition_required', 'missing_if_match', 'The If-Match header with the ETag of the resource is required', {
      type: 'header',
      name: 'If-Match',
    });
  }
  const expected = Buffer.from(etagOf(record));
  const given = Buffer.from(ifMatch.trim().replace(/^W\//, ''));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new UkoError('precondition_failed', 'etag_mismatch', 'The resource was changed since its ETag was read; read it again', {
      type: 'header',
      name: 'If-Match',
    });
  }
}
