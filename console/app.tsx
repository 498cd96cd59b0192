import { useEffect, useRef, useState } from 'preact/hooks';
import { attachSession, request, type SessionInfo } from './api.ts';
import { ErrorMessage, Loading, useAction } from './components.tsx';
import { route as routeOf, SECTIONS } from './pages.tsx';
import { SignInPage } from './sign-in-page.tsx';

export function App() {
  // 'unknown' until the region has said whether the browser holds a session.
  const [session, setSession] = useState<SessionInfo | undefined | 'unknown'>('unknown');
  useEffect(() => {
    request<SessionInfo>('GET', 'session').then(setSession, () => {
      setSession(undefined);
    });
  }, []);
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
  attachSession(session === 'unknown' ? undefined : session, () => {
    setSession(undefined);
  });

  if (session === 'unknown') return <Loading what="the console" />;
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
  // Pages are named by the part of the URL after '#': links and the back button work, and the server serves one HTML file.
  const { title, section, body } = routeOf(route, session);
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
          {SECTIONS.map((s) => (
            <a key={s.section} href={`#/${s.section}`} aria-current={s.section === section ? 'page' : undefined}>
              {s.nav}
            </a>
          ))}
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
