import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/index.ts';

const PREFIX = 'console/session/';
/** 256 random bits, base64url: what the cookie carries. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** A session unused this long ends; AWS's console and Vault's UI sign out after a similar pause. */
export const IDLE_TIMEOUT_MS = 15 * 60 * 1000;
/** However busy, a session ends after this long and its user signs in again. */
export const MAX_SESSION_MS = 12 * 3600 * 1000;
/** Last use is written at most this often: a page load is several requests, and each write is a transaction. */
const TOUCH_INTERVAL_MS = 60 * 1000;
/** Sessions left to expire are deleted by later sign-ins, this many at a time. */
const SWEEP_BATCH = 100;

/** Who a session acts for: the sign-in method and credential it was opened with, and that credential's principal. */
export interface SessionIdentity {
  /** The sign-in method that vouched for the credential, e.g. 'accessKey'. */
  method: string;
  /** The credential's public identifier, e.g. an access key ID: checked again on every request, so a removed credential ends its sessions. */
  credentialId: string;
  principal: string;
}

export interface ConsoleSession extends SessionIdentity {
  /** Sent back by the page in a header on every change: a cross-site page cannot read it. */
  csrfToken: string;
  created: number;
  lastSeen: number;
}

/**
 * The console's sign-in sessions, in the region's store so that every node of a region knows
 * them and signing out ends them everywhere. The cookie carries a random token; the store keeps
 * only its SHA-256 (256 random bits need no slow hash), so whoever reads the store cannot use
 * a session. A new token is made at every sign-in, never taken from the request: a token planted
 * before sign-in (session fixation) is never signed in.
 */
export class ConsoleSessions {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    readonly idleTimeoutMs: number = IDLE_TIMEOUT_MS,
  ) {}

  /** Opens a session for `identity`; returns the cookie's token and the session. */
  async open(identity: SessionIdentity): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: ConsoleSession = { ...identity, csrfToken: randomBytes(32).toString('base64url'), created: now, lastSeen: now };
    const stale = (await this.store.list(PREFIX, { limit: SWEEP_BATCH })).filter((entry) => this.ended(JSON.parse(entry.value) as ConsoleSession, now));
    await this.store.transaction(async (tx) => {
      for (const entry of stale) tx.delete(entry.key);
      await tx.create(keyOf(token), JSON.stringify(session));
    });
    return { token, session };
  }

  /** The live session `token` opens, its use recorded; undefined for an unknown, idle or too old one (which is then deleted). */
  async resume(token: string | undefined): Promise<ConsoleSession | undefined> {
    if (token === undefined || !TOKEN.test(token)) return undefined;
    const key = keyOf(token);
    const stored = await this.store.get(key);
    if (stored === undefined) return undefined;
    const session = JSON.parse(stored) as ConsoleSession;
    const now = this.now();
    if (this.ended(session, now)) {
      await this.store.transaction((tx) => {
        tx.delete(key);
      });
      return undefined;
    }
    if (now - session.lastSeen >= TOUCH_INTERVAL_MS) {
      session.lastSeen = now;
      await this.store.transaction((tx) => {
        tx.put(key, JSON.stringify(session));
      });
    }
    return session;
  }

  private ended(session: ConsoleSession, now: number): boolean {
    return now - session.lastSeen > this.idleTimeoutMs || now - session.created > MAX_SESSION_MS;
  }

  /** Ends the session `token` opens, if any. */
  async close(token: string | undefined): Promise<void> {
    if (token === undefined || !TOKEN.test(token)) return;
    await this.store.transaction((tx) => {
      tx.delete(keyOf(token));
    });
  }
}

/** Whether the CSRF token the page sent is the session's, compared in constant time. */
export function csrfTokenMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const keyOf = (token: string): string => PREFIX + createHash('sha256').update(token).digest('hex');
