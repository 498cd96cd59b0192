export type EncryptionContext = Record<string, string>;

/**
 * A canonical byte form of an encryption context, bound as AES-GCM AAD: pairs sorted by
 * key, each part length-prefixed so that no two different contexts share an encoding.
 */
export function canonicalContext(context: EncryptionContext | undefined): Buffer {
  if (!context) return Buffer.alloc(0);
  const keys = Object.keys(context).sort();
  const parts: Buffer[] = [];
  for (const key of keys) {
    for (const text of [key, context[key] ?? '']) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}
