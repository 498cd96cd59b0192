import { scryptSync, timingSafeEqual } from 'node:crypto';
import { passwordHash, type HsmContents, type HsmUser, type HsmUserType } from './hsm-contents.ts';

/** AWS's lockout: the sixth wrong password in a row finds the user locked until a CO resets its password. */
export const MAX_LOGIN_FAILURES = 5;
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MIN_PASSWORD = 7;
const MAX_PASSWORD = 32;
const MAX_NAME = 31;

/** A refusal by an HSM, in words the management shell prints. */
export class HsmUserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HsmUserError';
  }
}

const officer = (user: HsmUser): boolean => user.type === 'CO' || user.type === 'PCO';

function passwordMatches(user: HsmUser, password: string): boolean {
  const expected = Buffer.from(user.hash, 'base64');
  const given = scryptSync(password, Buffer.from(user.salt, 'base64'), expected.length, SCRYPT);
  return timingSafeEqual(given, expected);
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new HsmUserError(`a password has ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
  }
}

function named(contents: HsmContents, name: string): HsmUser {
  const user = contents.users.find((u) => u.name === name);
  if (!user) throw new HsmUserError(`user ${name} does not exist`);
  return user;
}

/**
 * Logs a user in: `type` must be the user's (a CO login also serves the primary CO). Each wrong
 * password is counted in the contents, so the count is the cluster's and survives a backup; the
 * count is reset by a right password, and past MAX_LOGIN_FAILURES the user is locked out. The
 * caller stores the contents whatever the outcome, so a failure is counted.
 */
export function login(contents: HsmContents, type: HsmUserType, name: string, password: string): { user?: HsmUser; error?: string } {
  const user = contents.users.find((u) => u.name === name);
  const typeMatches = user !== undefined && (user.type === type || (type === 'CO' && user.type === 'PCO'));
  if (!user || !typeMatches) return { error: 'invalid user name or type' };
  if (user.loginFailures >= MAX_LOGIN_FAILURES) return { error: `user ${name} is locked out; a crypto officer must reset its password` };
  if (!passwordMatches(user, password)) {
    user.loginFailures += 1;
    return { error: 'invalid password' };
  }
  user.loginFailures = 0;
  return { user };
}

/** A user logged in before, known by ID and the salt of the password it logged in with. */
export interface HsmSessionUser {
  userId: number;
  salt: string;
}

/**
 * The user of an open session: the same user, with the password it logged in with. A new
 * password, the user deleted or locked out ends its sessions.
 */
export function resumeSession(contents: HsmContents, session: HsmSessionUser): { user?: HsmUser; error?: string } {
  const user = contents.users.find((u) => u.id === session.userId);
  if (!user || user.salt !== session.salt || user.loginFailures >= MAX_LOGIN_FAILURES) return { error: 'the session has ended; log in again' };
  return { user };
}

/**
 * Changes a password: users change their own, crypto officers anyone's (which also unlocks
 * them). The precrypto officer changing its own becomes the primary crypto officer: that
 * activates the cluster, which the caller learns from the answer.
 */
export function changePassword(contents: HsmContents, actor: HsmUser, name: string, password: string): { activated: boolean } {
  checkPassword(password);
  const user = named(contents, name);
  if (user.id !== actor.id && !officer(actor)) throw new HsmUserError('only a crypto officer changes the password of another user');
  Object.assign(user, passwordHash(password), { loginFailures: 0 });
  const activated = user.type === 'PRECO';
  if (activated) user.type = 'PCO';
  return { activated };
}

export function createUser(contents: HsmContents, actor: HsmUser, type: 'CO' | 'CU' | 'AU', name: string, password: string): HsmUser {
  if (!officer(actor)) throw new HsmUserError('only a crypto officer creates users');
  if (name.length === 0 || name.length > MAX_NAME || !/^[A-Za-z0-9_]+$/.test(name)) {
    throw new HsmUserError(`a user name has 1 to ${MAX_NAME} letters, digits and underscores`);
  }
  if (contents.users.some((u) => u.name === name)) throw new HsmUserError(`user ${name} already exists`);
  checkPassword(password);
  const user: HsmUser = { id: Math.max(0, ...contents.users.map((u) => u.id)) + 1, type, name, ...passwordHash(password), loginFailures: 0 };
  contents.users.push(user);
  return user;
}

export function deleteUser(contents: HsmContents, actor: HsmUser, name: string): void {
  if (!officer(actor)) throw new HsmUserError('only a crypto officer deletes users');
  const user = named(contents, name);
  if (user.id === actor.id) throw new HsmUserError('a user cannot delete itself');
  if (user.type === 'PCO') throw new HsmUserError('the primary crypto officer cannot be deleted');
  if (contents.keys.some((key) => key.owner === user.id)) throw new HsmUserError(`user ${name} owns keys; delete or reassign them first`);
  contents.users = contents.users.filter((u) => u.id !== user.id);
}
