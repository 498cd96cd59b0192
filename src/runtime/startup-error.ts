import type { CryptoUnitConfig, RegionConfig } from '../config/index.ts';

/**
 * A region that cannot start for a reason its operator fixes (a port in use, a database held by
 * another process, a PKCS#11 token refusing its PIN): the message says what and where, in one
 * line with no stack trace, and never holds a secret (no PIN, no database password).
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Why the region's API cannot listen where it is configured to. */
export function listenFailure(region: string, listen: RegionConfig['listen'], error: unknown): Error {
  const where = `${listen.host}:${listen.port}`;
  const why: Record<string, string> = {
    EADDRINUSE: `the port is in use (EADDRINUSE) by another program (another concord?); stop it or choose another port (--port for concord dev, listen.port in the configuration)`,
    EACCES: `listening on port ${listen.port} needs privileges this process does not have; choose a port above 1023`,
    EADDRNOTAVAIL: `${listen.host} is not an address of this machine (listen.host, or --host for concord dev)`,
  };
  const reason = why[codeOf(error) ?? ''];
  return reason ? new StartupError(`region ${region} cannot listen on ${where}: ${reason}`, { cause: error }) : (error as Error);
}

/** Why the region's store cannot be opened: the database is held, missing, unreadable or unreachable. The URL's password stays out. */
export function storeFailure(region: string, store: RegionConfig['store'], error: unknown): Error {
  const code = codeOf(error) ?? '';
  if (store.kind === 'sqlite') {
    const where = `region ${region} cannot use its SQLite database ${store.path}`;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      return new StartupError(
        `${where}: another process holds it (a region on SQLite is served by one concord process and its workers: is another concord running on this data?)`,
        {
          cause: error,
        },
      );
    if (code.startsWith('SQLITE_') || ['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EROFS'].includes(code))
      return new StartupError(`${where}: ${messageOf(error)} (${code})`, { cause: error });
    return error as Error;
  }
  let host = 'the configured host';
  try {
    const url = new URL(store.url);
    host = `${url.hostname}:${url.port || '5432'}`;
  } catch {
    // The schema checked the URL's scheme only; the host is then named generically.
  }
  const where = `region ${region} cannot use its PostgreSQL database at ${host}`;
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'].includes(code))
    return new StartupError(`${where}: it cannot be reached (${code}); is PostgreSQL running there?`, { cause: error });
  // PostgreSQL's own refusals (SQLSTATE class 28: authentication, 3D: no such database, 42: permissions) say what is wrong in words, without the password.
  if (/^(28|3D|42)[0-9A-Z]{3}$/.test(code)) return new StartupError(`${where}: ${messageOf(error)} (SQLSTATE ${code})`, { cause: error });
  return error as Error;
}

/** PKCS#11 return values an operator can act on, in words. */
const PKCS11_REASONS: Record<string, string> = {
  CKR_PIN_INCORRECT: 'the token refused the PIN (wrong PIN; check pin or the variable pinEnv names)',
  CKR_PIN_LOCKED: 'the PIN is locked after too many wrong attempts; the Security Officer must reset it',
  CKR_PIN_EXPIRED: 'the PIN has expired; set a new one on the token',
  CKR_TOKEN_NOT_PRESENT: 'the token is not present',
  CKR_TOKEN_NOT_RECOGNIZED: 'the token is not recognized by the module',
  CKR_DEVICE_ERROR: 'the device reported an error',
  CKR_GENERAL_ERROR: 'the module reported a general error',
};

/** Why a crypto unit cannot be opened, naming the unit and, for PKCS#11, its token and module. */
export function cryptoUnitFailure(unit: CryptoUnitConfig, error: unknown): Error {
  if (unit.kind === 'software') return error as Error;
  const token = unit.tokenLabel !== undefined ? `token '${unit.tokenLabel}'` : `token in slot ${String(unit.slot)}`;
  const message = messageOf(error);
  const known = Object.keys(PKCS11_REASONS).find((code) => message.includes(code));
  const reason = known ? `${PKCS11_REASONS[known]!} (${known})` : message;
  return new StartupError(`crypto unit ${unit.id} (PKCS#11 ${token} in ${unit.module}) cannot be opened: ${reason}`, { cause: error });
}
