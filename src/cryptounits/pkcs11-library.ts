import { createRequire } from 'node:module';

export type Pkcs11Module = typeof import('pkcs11js');
export type PKCS11 = InstanceType<Pkcs11Module['PKCS11']>;

let binding: Pkcs11Module | undefined;

/** The native binding, loaded with the first PKCS#11 library so that processes without one never need it. */
export function pkcs11js(): Pkcs11Module {
  binding ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
  return binding;
}

/**
 * A loaded PKCS#11 library. A library is initialised once per process, so everything in the
 * process that uses one path (crypto units, keystores) shares it through acquire and release;
 * `logouts` counts user logouts, which invalidate every handle of a private object.
 */
export interface Pkcs11Library {
  lib: PKCS11;
  users: number;
  logouts: number;
}
const libraries = new Map<string, Pkcs11Library>();

/** The library at `path`, loaded and initialised by its first user. */
export function acquirePkcs11Library(path: string): Pkcs11Library {
  let entry = libraries.get(path);
  if (!entry) {
    const lib = new (pkcs11js().PKCS11)();
    lib.load(path);
    try {
      lib.C_Initialize();
    } catch (error) {
      lib.close();
      throw error;
    }
    entry = { lib, users: 0, logouts: 0 };
    libraries.set(path, entry);
  }
  entry.users++;
  return entry;
}

/** Finalises and unloads the library when its last user lets it go. */
export function releasePkcs11Library(path: string): void {
  const entry = libraries.get(path);
  if (!entry || --entry.users > 0) return;
  libraries.delete(path);
  entry.lib.C_Finalize();
  entry.lib.close();
}
