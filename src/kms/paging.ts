import { KmsError } from '../errors/index.ts';

/** Turns a caller's Marker back into a store key, refusing markers this region never issued. */
export function markerKey(marker: string | undefined, prefix: string): string | undefined {
  if (marker === undefined) return undefined;
  if (!/^[\w/:.-]+$/.test(marker)) throw new KmsError('InvalidMarkerException', 'The marker is not valid.');
  return prefix + marker;
}

/**
 * One page of a listing as AWS answers it: at most `limit` items, then Truncated and, when
 * more follow, the NextMarker `markerOf` gives the last item on the page.
 */
export function pageOf<T>(items: readonly T[], limit: number, markerOf: (last: T) => string): { page: T[]; Truncated: boolean; NextMarker?: string } {
  const page = items.slice(0, limit);
  const truncated = items.length > limit;
  return { page, Truncated: truncated, ...(truncated ? { NextMarker: markerOf(page[page.length - 1]!) } : {}) };
}
