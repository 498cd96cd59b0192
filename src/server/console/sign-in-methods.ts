import { createHash, timingSafeEqual } from 'node:crypto';
import { IamError, type IamTokens } from '../../iam/index.ts';
import type { Caller } from '../../kms/index.ts';
import { callerOf } from '../auth/caller-of.ts';
import type { AccessKey } from '../auth/sigv4.ts';
import type { SessionIdentity } from './console-sessions.ts';

/**
 * A way to sign in to the console. `signIn` checks what the sign-in form sent and names the
 * credential and its principal; `callerOf` is asked on every request of the session, so a
 * credential removed or revoked since sign-in ends its sessions.
 */
export interface SignInMethod {
  /** The identity `fields` prove, or undefined when they prove none. */
  signIn(fields: Record<string, unknown>): Promise<SessionIdentity | undefined>;
  /** The caller a session of this method acts as, or undefined once its credential is gone. */
  callerOf(identity: SessionIdentity): Promise<Caller | undefined>;
}

/** Sign-in with an access key pair of the region's configuration, as the AWS API is signed with. */
export function accessKeySignIn(accessKeys: readonly AccessKey[]): SignInMethod {
  // A Map: an access key ID such as "__proto__" finds nothing.
  const byId = new Map(accessKeys.filter((key) => key.session === undefined).map((key) => [key.accessKeyId, key]));
  // Compared even for an unknown access key ID, so the time taken does not tell which IDs exist.
  const unknown = digest('unknown access key');
  return {
    signIn({ accessKeyId, secretAccessKey }) {
      if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return Promise.resolve(undefined);
      const key = byId.get(accessKeyId);
      const same = timingSafeEqual(digest(secretAccessKey), key ? digest(key.secretAccessKey) : unknown);
      return Promise.resolve(key && same ? { method: 'accessKey', credentialId: key.accessKeyId, principal: key.principal } : undefined);
    },
    callerOf({ credentialId }) {
      const key = byId.get(credentialId);
      return Promise.resolve(key && callerOf(key));
    },
  };
}

/**
 * Sign-in with an IAM API key (`concord apikey create`), as IBM's console takes one: the
 * session acts as the key's principal, exactly as the bearer tokens the key is exchanged for
 * on the IBM surfaces do. The key's state is read again on every request (through the same
 * cache as bearer tokens), so revoking the key ends its console sessions as it ends its tokens.
 */
export function apiKeySignIn(iam: IamTokens): SignInMethod {
  return {
    async signIn({ apikey }) {
      if (typeof apikey !== 'string') return undefined;
      try {
        const key = await iam.apiKeys.authenticate(apikey);
        return { method: 'apiKey', credentialId: key.id, principal: key.principal };
      } catch (error) {
        if (error instanceof IamError) return undefined;
        throw error;
      }
    },
    async callerOf({ credentialId, principal }) {
      if (!(await iam.apiKeys.isActive(credentialId))) return undefined;
      return { account: principal.split(':')[4] ?? '', arn: principal };
    },
  };
}

/** Digests have one length whatever the secrets', as timingSafeEqual needs. */
const digest = (secret: string): Buffer => createHash('sha256').update(secret).digest();
