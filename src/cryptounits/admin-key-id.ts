import { createHash } from 'node:crypto';

/** A short, stable name for an administrator's public key (base64): what `concord tke` and the console show. */
export const adminKeyId = (publicKey: string): string => createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('hex').slice(0, 16);
