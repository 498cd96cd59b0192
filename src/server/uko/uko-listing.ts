import { UkoError } from '../../uko/index.ts';

type View = Record<string, unknown>;

/** IBM's list query: limit, offset, sort and the resource's filters. */
export interface ListQuery {
  limit: number;
  offset: number;
  sort: string[];
  filters: [path: string, values: string[]][];
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const PAGING = new Set(['limit', 'offset', 'sort']);

const badQuery = (name: string, message: string) => new UkoError('invalid', 'invalid_query_parameter', message, { type: 'parameter', name });

function count(query: Record<string, unknown>, name: string, fallback: number, max: number): number {
  const value = query[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) > max)
    throw badQuery(name, `The ${name} parameter must be a whole number from 0 to ${max}`);
  return Number(value);
}

/**
 * Reads a list request's query: `filters` maps each filter parameter the resource takes to
 * the path of the view field it matches (a comma-separated value matches any of its items);
 * `sortable` names the fields `sort` may use, `-` first for descending order.
 */
export function listQuery(query: unknown, filters: Readonly<Record<string, string>>, sortable: readonly string[]): ListQuery {
  const params = (query ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(params)) {
    if (!PAGING.has(name) && !Object.hasOwn(filters, name)) throw badQuery(name, `The query parameter ${name} is not supported here`);
  }
  const sortValue = params.sort;
  if (sortValue !== undefined && typeof sortValue !== 'string') throw badQuery('sort', 'The sort parameter must appear once');
  const sort = sortValue === undefined || sortValue === '' ? [] : sortValue.split(',');
  for (const field of sort) {
    if (!sortable.includes(field.replace(/^-/, ''))) throw badQuery('sort', `The sort parameter may name: ${sortable.join(', ')}`);
  }
  return {
    limit: count(params, 'limit', DEFAULT_LIMIT, MAX_LIMIT),
    offset: count(params, 'offset', 0, 1e9),
    sort,
    filters: Object.entries(params)
      .filter(([name]) => !PAGING.has(name))
      .map(([name, value]) => {
        if (typeof value !== 'string') throw badQuery(name, `The ${name} parameter must appear once`);
        return [filters[name]!, value.split(',')];
      }),
  };
}

/** The values at a path such as `status_in_keystores[].keystore_sync_flag` or `vault.id`: `[]` walks every item of a list. */
function valuesAt(view: unknown, path: string): unknown[] {
  let current: unknown[] = [view];
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const name = list ? part.slice(0, -2) : part;
    current = current.flatMap((item) => {
      const value = item !== null && typeof item === 'object' && Object.hasOwn(item, name) ? (item as View)[name] : undefined;
      return list && Array.isArray(value) ? (value as unknown[]) : [value];
    });
  }
  return current.filter((value) => value !== undefined);
}

const compare = (a: unknown, b: unknown): number =>
  typeof a === 'number' && typeof b === 'number' ? a - b : (typeof a === 'string' ? a : '').localeCompare(typeof b === 'string' ? b : '');

/**
 * One page of `views` as IBM lists resources: {total_count, limit, offset, first, last,
 * previous, next, <name>}, the hrefs carrying the same query with another offset.
 */
export function listPage(name: string, views: View[], query: ListQuery, url: URL): Record<string, unknown> {
  const matching = views.filter((view) => query.filters.every(([path, values]) => valuesAt(view, path).some((value) => values.includes(String(value)))));
  const order = query.sort.length > 0 ? query.sort : ['created_at'];
  matching.sort((a, b) => {
    for (const field of order) {
      const descending = field.startsWith('-');
      const key = field.replace(/^-/, '');
      const difference = compare(a[key], b[key]);
      if (difference !== 0) return descending ? -difference : difference;
    }
    return compare(a.id, b.id);
  });
  const { limit, offset } = query;
  const total = matching.length;
  const href = (at: number) => {
    const link = new URL(url);
    link.searchParams.set('limit', String(limit));
    link.searchParams.set('offset', String(at));
    return { href: link.toString() };
  };
  const lastOffset = limit === 0 ? 0 : Math.max(0, Math.floor((total - 1) / limit) * limit);
  return {
    total_count: total,
    limit,
    offset,
    first: href(0),
    last: href(lastOffset),
    ...(offset > 0 && limit > 0 ? { previous: href(Math.max(0, offset - limit)) } : {}),
    ...(offset + limit < total && limit > 0 ? { next: href(offset + limit) } : {}),
    [name]: matching.slice(offset, offset + limit),
  };
}
