/** Levenshtein distance, case-insensitive: what separates a mistyped field name from the real one. */
export function editDistance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[y.length]!;
}

/**
 * The candidate a mistyped name most likely meant: the nearest by edit distance, if it is near
 * enough (at most a third of the longer name, and never more than 3 edits) to be a typo.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= Math.min(3, Math.ceil(Math.max(name.length, candidate.length) / 3)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
