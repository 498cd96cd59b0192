/**
 * IAM wildcard matching: `*` is any run of characters, `?` any one character, everything else
 * itself. Patterns come from policies, values from requests: no regular expression is built, and
 * the work grows with |value| × |pattern| / 32 at worst, never exponentially. The text between
 * stars is placed leftmost, one piece after the other, which never needs to go back: if a piece
 * fits anywhere after the previous one, it fits at the leftmost place.
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (ignoreCase) return wildcardMatch(pattern.toLowerCase(), value.toLowerCase());
  // Most patterns have no star, or one at the end (kms:*, a key ARN, *): no split for them.
  const star = pattern.indexOf('*');
  if (star < 0) return value.length === pattern.length && fitsAt(pattern, value, 0);
  if (star === pattern.length - 1) return value.length >= star && fitsAt(pattern, value, 0, star);
  const pieces = pattern.split('*');
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const end = value.length - last.length;
  if (first.length > end || !fitsAt(first, value, 0) || !fitsAt(last, value, end)) return false;
  let position = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    const found = leftmost(piece, value, position, end);
    if (found < 0) return false;
    position = found + piece.length;
  }
  return true;
}

/** True when `piece` (no `*`, `?` for any character), or its first `length` characters, matches `value` at `start`. */
function fitsAt(piece: string, value: string, start: number, length = piece.length): boolean {
  for (let i = 0; i < length; i++) {
    const c = piece.charCodeAt(i);
    if (c !== QUESTION_MARK && c !== value.charCodeAt(start + i)) return false;
  }
  return true;
}

/** The leftmost place at or after `from` where `piece` matches and ends by `end`, or -1. */
function leftmost(piece: string, value: string, from: number, end: number): number {
  if (!piece.includes('?')) {
    const found = value.indexOf(piece, from);
    return found <= end - piece.length ? found : -1;
  }
  return leftmostWithAny(piece, value, from, end);
}

/**
 * Shift-And (Baeza-Yates and Gonnet): bit j of the state says that the first j + 1 characters
 * of the piece end at the current character, so one pass over the value costs
 * |value| × ⌈|piece| / 32⌉ word operations, whatever the piece and the value hold.
 */
function leftmostWithAny(piece: string, value: string, from: number, end: number): number {
  const words = Math.ceil(piece.length / 32);
  const any = new Uint32Array(words);
  for (let j = 0; j < piece.length; j++) {
    if (piece.charCodeAt(j) === QUESTION_MARK) any[j >>> 5]! |= 1 << (j & 31);
  }
  const masks = new Map<number, Uint32Array>();
  for (let j = 0; j < piece.length; j++) {
    const c = piece.charCodeAt(j);
    if (c === QUESTION_MARK) continue;
    let mask = masks.get(c);
    if (!mask) masks.set(c, (mask = any.slice()));
    mask[j >>> 5]! |= 1 << (j & 31);
  }
  const state = new Uint32Array(words);
  const lastWord = (piece.length - 1) >>> 5;
  const lastBit = 1 << ((piece.length - 1) & 31);
  for (let i = from; i < end; i++) {
    const mask = masks.get(value.charCodeAt(i)) ?? any;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const bits = state[w]!;
      state[w] = ((bits << 1) | carry) & mask[w]!;
      carry = bits >>> 31;
    }
    if ((state[lastWord]! & lastBit) !== 0) return i - piece.length + 1;
  }
  return -1;
}

const QUESTION_MARK = '?'.charCodeAt(0);
