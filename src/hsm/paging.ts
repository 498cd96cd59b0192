import { invalidRequest } from './hsm-error.ts';

/**
 * One page of an ordered list, and the token of the next: the position after this page,
 * opaque to callers. A token that is not one this service gave is refused.
 */
export function pageOf<T>(items: readonly T[], token: string | undefined, limit: number): { items: T[]; nextToken?: string } {
  let start = 0;
  if (token !== undefined) {
    const match = /^p([0-9]{1,9})$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
    if (!match) throw invalidRequest('The NextToken is not valid.');
    start = Number(match[1]);
  }
  const end = start + limit;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(`p${end}`).toString('base64url') } : {}) };
}
