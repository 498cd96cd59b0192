import { useEffect, useRef, useState } from 'preact/hooks';
import { attachSession, request, type SessionInfo } from './api.ts';
import { ErrorMessage, Loading, useAction, useLoad } from './components.tsx';
import { CreateKeyPage } from './create-key-page.tsx';
import { CryptoUnitsPage } from './crypto-units-page.tsx';
import { KeyPage } from './key-page.tsx';
import { KeysPage } from './keys-page.tsx';
import { SignInPage } from './sign-in-page.tsx';

/** The pages, by the part of the URL after '#': links work, the back button works, and the server serves one HTML file. */
function page(route: string, session: SessionInfo) {
  const [section, id] = route.replace(/^#\/?/, '').split('/');
  if (section === 'crypto-units') return { title: 'Crypto units', nav: 'crypto-units', body: <CryptoUnitsPage /> };
  if (section === 'keys' && id === 'new') return { title: 'Create key', nav: 'keys', body: <CreateKeyPage /> };
  if (section === 'keys' && id) {
    const keyId = decodeURIComponent(id);
    return { title: `Key ${keyId}`, nav: 'keys', body: <KeyPage keyId={keyId} session={session} /> };
  }
  return { title: 'Customer managed keys', nav: 'keys', body: <KeysPage /> };
}

export function App() {
  const [session, setSession] = useState<SessionInfo | undefined>();
  const [loaded] = useLoad(() => request<SessionInfo>('GET', 'session').catch(() => undefined), []);
  const [route, setRoute] = useState(location.hash);
  useEffect(() => {
    const changed = () => {
      setRoute(location.hash);
    };
    addEventListener('hashchange', changed);
    return () => {
      removeEventListener('hashchange', changed);
    };
  }, []);
  useEffect(() => {
    if (loaded.state === 'done') setSession(loaded.value);
  }, [loaded]);
  attachSession(session, () => {
    setSession(undefined);
  });

  if (loaded.state === 'loading') return <Loading what="the console" />;
  if (!session) return <SignInPage onSignedIn={setSession} />;
  return (
    <Signed
      session={session}
      route={route}
      onSignedOut={() => {
        setSession(undefined);
      }}
    />
  );
}

function Signed({ session, route, onSignedOut }: { session: SessionInfo; route: string; onSignedOut: () => void }) {
  const { title, nav, body } = page(route, session);
  const heading = useRef<HTMLHeadingElement>(null);
  const signOut = useAction();
  useEffect(() => {
    document.title = `${title} · ${session.region} · Concord`;
    // A page change is announced and the keyboard starts from its heading, as after a full page load.
    if (document.activeElement !== document.body && document.activeElement !== null) heading.current?.focus();
  }, [title, session.region]);
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Concord</span>
        <nav aria-label="Console">
          <a href="#/keys" aria-current={nav === 'keys' ? 'page' : undefined}>
            Keys
          </a>
          <a href="#/crypto-units" aria-current={nav === 'crypto-units' ? 'page' : undefined}>
            Crypto units
          </a>
        </nav>
        <div class="who">
          <label>
            <span class="visually-hidden">Region</span>
            <select
              value={session.region}
              onChange={(event) => {
                const target = session.regions.find((r) => r.name === event.currentTarget.value);
                if (target?.url) location.assign(`${target.url}/console/${location.hash}`);
              }}
            >
              {session.regions.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
          <span class="principal" title={session.principal}>
            {session.principal.split(':').slice(5).join(':') || session.principal}
          </span>
          <button
            type="button"
            disabled={signOut.busy}
            onClick={() =>
              void signOut.run(async () => {
                await request('DELETE', 'session');
                onSignedOut();
              })
            }
          >
            Sign out
          </button>
        </div>
      </header>
      {signOut.error && <ErrorMessage error={signOut.error} />}
      <main id="main" tabIndex={-1}>
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {body}
      </main>
    </>
  );
}
