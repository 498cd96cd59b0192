import { useState } from 'preact/hooks';
import { request, type SessionInfo } from './api.ts';
import { ErrorMessage, TextInput, useAction } from './components.tsx';

type Method = 'accessKey' | 'apiKey';

/**
 * Sign-in with an access key pair of the region or an IAM API key (`concord apikey create`).
 * The secret goes once to the region, which answers with a session cookie the page cannot
 * read; nothing is kept in the browser's storage.
 */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [method, setMethod] = useState<Method>('accessKey');
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const [apikey, setApikey] = useState('');
  const action = useAction();
  const choice = (value: Method, label: string) => (
    <label class="inline">
      <input
        type="radio"
        name="method"
        value={value}
        checked={method === value}
        onChange={() => {
          setMethod(value);
          action.clear();
        }}
      />
      {label}
    </label>
  );
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Concord</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const credentials = method === 'apiKey' ? { method, apikey } : { method, accessKeyId, secretAccessKey };
          void action.run(async () => {
            onSignedIn(await request<SessionInfo>('POST', 'session', credentials));
          });
        }}
      >
        <fieldset>
          <legend>Sign in with</legend>
          {choice('accessKey', 'Access key pair')}
          {choice('apiKey', 'API key')}
        </fieldset>
        {method === 'accessKey' ? (
          <>
            <TextInput id="access-key-id" label="Access key ID" autoComplete="username" value={accessKeyId} onInput={setAccessKeyId} />
            <TextInput
              id="secret-access-key"
              label="Secret access key"
              secret
              autoComplete="current-password"
              value={secretAccessKey}
              onInput={setSecretAccessKey}
            />
          </>
        ) : (
          <TextInput id="api-key" label="API key" secret autoComplete="current-password" value={apikey} onInput={setApikey} />
        )}
        {action.error && <ErrorMessage error={action.error} />}
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
