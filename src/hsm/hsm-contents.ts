import { randomBytes, scryptSync } from 'node:crypto';

export type HsmUserType = 'PRECO' | 'PCO' | 'CO' | 'CU' | 'AU';

export interface HsmUser {
  id: number;
  type: HsmUserType;
  name: string;
  /** scrypt (N=2^15, r=8, p=1) of the password with a per-user 16-byte salt, base64. */
  salt: string;
  hash: string;
  loginFailures: number;
}

export interface HsmKey {
  handle: number;
  /** The same in every cluster the key is synced to: syncKey finds a key it synced before by it. */
  origin: string;
  owner: number;
  sharedWith: number[];
  attributes: Record<string, string | number | boolean>;
  /** The key's material, inside contents that are sealed as a whole under the lineage key. */
  material: string;
}

/** What every HSM of a cluster holds, and what its backups carry: users and keys. */
export interface HsmContents {
  users: HsmUser[];
  keys: HsmKey[];
  nextHandle: number;
}

/** AWS's documented password of the precrypto officer on a new cluster's HSMs. */
export const DEFAULT_PRECO_PASSWORD = 'password';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export function passwordHash(password: string): { salt: string; hash: string } {
  const salt = randomBytes(16);
  return { salt: salt.toString('base64'), hash: scryptSync(password, salt, 32, SCRYPT).toString('base64') };
}

/** The contents of the HSMs of a cluster just initialized: the precrypto officer `admin` alone. */
export function initialContents(): HsmContents {
  return { users: [{ id: 1, type: 'PRECO', name: 'admin', ...passwordHash(DEFAULT_PRECO_PASSWORD), loginFailures: 0 }], keys: [], nextHandle: 1 };
}
