import { createHash, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { AccessKey } from '../auth/sigv4.ts';
import type { SessionIdentity } from './console-sessions.ts';

/**
 * A way to sign in to the console. `signIn` checks what the sign-in form sent and names the
 * credential and its principal; `callerOf` is asked on every request of the session, so a
 * credential removed since sign-in ends its sessions. Key Protect's API keys will be a second
 * method beside access keys, registered in SIGN_IN_METHODS' place by the surface's options.
 */
export interface SignInMethod {
  /** The identity `fields` prove, or undefined when they prove none. */
  signIn(fields: Record<string, unknown>): SessionIdentity | undefined;
  /** The caller a credential of this method acts as, or undefined once the credential is gone. */
  callerOf(credentialId: string): Caller | undefined;
}

/** Sign-in with an access key pair of the region's configuration, as the AWS API is signed with. */
export function accessKeySignIn(accessKeys: readonly AccessKey[]): SignInMethod {
  // A Map: an access key ID such as "__proto__" finds nothing.
  const byId = new Map(accessKeys.filter((key) => key.session === undefined).map((key) => [key.accessKeyId, key]));
  // Compared even for an unknown access key ID, so the time taken does not tell which IDs exist.
  const unknown = digest('unknown access key');
  return {
    signIn({ accessKeyId, secretAccessKey }) {
      if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return undefined;
      const key = byId.get(accessKeyId);
      const same = timingSafeEqual(digest(secretAccessKey), key ? digest(key.secretAccessKey) : unknown);
      return key && same ? { method: 'accessKey', credentialId: key.accessKeyId, principal: key.principal } : undefined;
    },
    callerOf(credentialId) {
      const key = byId.get(credentialId);
      return key && callerOf(key);
    },
  };
}

/** Digests have one length whatever the secrets', as timingSafeEqual needs. */
const digest = (secret: string): Buffer => createHash('sha256').update(secret).digest();
