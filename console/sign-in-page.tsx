import { useState } from 'preact/hooks';
import { request, type SessionInfo } from './api.ts';
import { ErrorMessage, useAction } from './components.tsx';

/**
 * Sign-in with an access key pair of the region. The secret goes once to the region, which
 * answers with a session cookie the page cannot read; nothing is kept in the browser's storage.
 */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const action = useAction();
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Concord</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            onSignedIn(await request<SessionInfo>('POST', 'session', { method: 'accessKey', accessKeyId, secretAccessKey }));
          });
        }}
      >
        <label for="access-key-id">Access key ID</label>
        <input
          id="access-key-id"
          name="accessKeyId"
          autoComplete="username"
          required
          value={accessKeyId}
          onInput={(event) => {
            setAccessKeyId(event.currentTarget.value);
          }}
        />
        <label for="secret-access-key">Secret access key</label>
        <input
          id="secret-access-key"
          name="secretAccessKey"
          type="password"
          autoComplete="current-password"
          required
          value={secretAccessKey}
          onInput={(event) => {
            setSecretAccessKey(event.currentTarget.value);
          }}
        />
        {action.error && <ErrorMessage error={action.error} />}
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
