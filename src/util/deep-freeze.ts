/** Freezes a value and everything reachable from it, so shared records cannot be changed by a reader. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
