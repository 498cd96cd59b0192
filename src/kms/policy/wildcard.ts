const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

/** IAM wildcard matching: `*` is any run of characters, `?` any one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = cache.get(cacheKey);
  if (!regex) {
    const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
    regex = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, regex);
  }
  return regex.test(value);
}
