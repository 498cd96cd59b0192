import { randomBytes } from 'node:crypto';

/** Lower-case RFC 4648 base32: every character is in the models' [2-7a-zA-Z]. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** AWS's own IDs have 11 characters after the prefix (cluster-jxhlf7644ne); the pattern allows 11 to 16. */
const ID_LENGTH = 11;

/** A new ID such as cluster-jxhlf7644ne, hsm-… or backup-…: the prefix and 11 base32 characters (55 random bits). */
export function newResourceId(prefix: 'cluster' | 'hsm' | 'backup'): string {
  const bytes = randomBytes(ID_LENGTH);
  let id = '';
  for (const byte of bytes) id += BASE32.charAt(byte & 31);
  return `${prefix}-${id}`;
}

/** An ID such as eni-… or sg-… in AWS's 17 hex digits. */
export const newHexId = (prefix: 'eni' | 'sg' | 'vpc'): string => `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;

const RESOURCE_ID = /^(cluster|hsm|backup)-[2-7a-zA-Z]{11,16}$/;

/** Whether `id` is a whole cluster, HSM or backup ID of `kind` (the model's patterns are not anchored; lookups are). */
export const isResourceId = (id: string, kind: 'cluster' | 'hsm' | 'backup'): boolean => RESOURCE_ID.test(id) && id.startsWith(`${kind}-`);
