import { useState } from 'preact/hooks';
import { request, tagged, type ManagedKey, type StatusInKeystore } from './api.ts';
import { ActionsMenu, ConfirmPanel, ErrorMessage, Facts, Section, Show, StateBadge, useAction, useLoad } from './components.tsx';

const keyPath = (id: string) => `uko/managed-keys/${encodeURIComponent(id)}`;
const outOfSync = (status: StatusInKeystore) => status.keystore_sync_flag === 'out_of_sync';

/** The Out of sync flag IBM's console shows beside a key or on a keystore card. */
function SyncFlag({ statuses }: { statuses: StatusInKeystore[] }) {
  if (statuses.some(outOfSync)) return <span class="badge out-of-sync">Out of sync</span>;
  if (statuses.some((s) => s.keystore_sync_flag === 'error')) return <span class="badge out-of-sync">Error</span>;
  return <span class="badge in-sync">In sync</span>;
}

/** Unified Key Orchestrator's managed keys, each with the sync state of its copy in every keystore. */
export function ManagedKeysPage() {
  const [loaded, reload] = useLoad(() => request<{ managed_keys: ManagedKey[] }>('GET', 'uko/managed-keys'), []);
  return (
    <Show loaded={loaded} what="the managed keys" retry={reload}>
      {({ managed_keys: keys }) =>
        keys.length === 0 ? (
          <p>No managed key in this region.</p>
        ) : (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Managed keys">
            <table>
              <caption class="visually-hidden">Managed keys</caption>
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">State</th>
                  <th scope="col">Algorithm</th>
                  <th scope="col">Vault</th>
                  <th scope="col">Keystores (sync)</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.id}>
                    <td>
                      <a href={`#/managed-keys/${encodeURIComponent(key.id)}`}>{key.label}</a>
                    </td>
                    <td>
                      <StateBadge state={key.state} /> {key.status_in_keystores.some(outOfSync) && <span class="badge out-of-sync">Out of sync</span>}
                    </td>
                    <td>
                      {key.algorithm} {key.size}
                    </td>
                    <td>{key.vault.name}</td>
                    <td>
                      <ul class="plain">
                        {key.status_in_keystores.map((s) => (
                          <li key={s.keystore.id}>
                            {s.keystore.name}: {s.keystore_sync_flag.replace(/_/g, ' ')}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </Show>
  );
}

/**
 * One managed key, with IBM's Actions: Verify sync asks every keystore what it holds now and
 * shows the flags; Sync key lists the keystores the key is in, and on confirmation makes each
 * hold what the managed key's state says. The sync sends the ETag the page read as If-Match, so
 * a key changed meanwhile is refused (412) rather than synced from a stale view.
 */
export function ManagedKeyPage({ id }: { id: string }) {
  const [current, setCurrent] = useState<{ value: ManagedKey; etag: string } | undefined>();
  const [loaded, reload] = useLoad(async () => {
    const answer = await tagged<ManagedKey>('GET', keyPath(id));
    setCurrent(answer);
    return answer;
  }, [id]);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const action = useAction();
  const run = (work: () => Promise<{ value: ManagedKey; etag: string }>, done: (key: ManagedKey) => string) =>
    void action.run(async () => {
      const answer = await work();
      setCurrent(answer);
      setConfirming(false);
      setNotice(done(answer.value));
    });
  const verify = () => {
    run(
      () => tagged<ManagedKey>('POST', `${keyPath(id)}/verify-sync`),
      (key) =>
        key.status_in_keystores.some(outOfSync) ? 'Verified: the key is out of sync in some keystores.' : 'Verified: the key is in sync in every keystore.',
    );
  };
  return (
    <>
      <p>
        <a href="#/managed-keys">← All managed keys</a>
      </p>
      <Show loaded={loaded} what="the managed key" retry={reload}>
        {() => {
          const key = current!.value;
          return (
            <>
              <Section
                title="Key details"
                id="managed-key"
                actions={
                  <ActionsMenu
                    label="Actions for the managed key"
                    items={[
                      { name: 'Verify sync', run: verify },
                      {
                        name: 'Sync key',
                        run: () => {
                          setNotice(undefined);
                          action.clear();
                          setConfirming(true);
                        },
                      },
                    ]}
                  />
                }
              >
                {notice && (
                  <p class="success" role="status">
                    {notice}
                  </p>
                )}
                {action.error && <ErrorMessage error={action.error} />}
                {confirming && (
                  <ConfirmPanel
                    id="sync-key-title"
                    title="Sync key: the key’s state is written to these keystores."
                    label="Sync key"
                    busy={action.busy}
                    onConfirm={() => {
                      run(
                        () => tagged<ManagedKey>('POST', `${keyPath(id)}/sync`, current!.etag),
                        (synced) =>
                          synced.status_in_keystores.some(outOfSync)
                            ? 'Synced, but some keystores are still out of sync.'
                            : 'Synced: the key is in sync in every keystore.',
                      );
                    }}
                    onCancel={() => {
                      setConfirming(false);
                    }}
                  >
                    <ul>
                      {key.status_in_keystores.map((s) => (
                        <li key={s.keystore.id}>
                          {s.keystore.name} ({s.keystore.type}): {s.keystore_sync_flag.replace(/_/g, ' ')}
                        </li>
                      ))}
                    </ul>
                  </ConfirmPanel>
                )}
                <Facts
                  items={[
                    ['Label', key.label],
                    ['ID', key.id],
                    ['State', <StateBadge state={key.state} />],
                    ['Sync', <SyncFlag statuses={key.status_in_keystores} />],
                    ['Algorithm', `${key.algorithm} ${key.size}`],
                    ['Vault', key.vault.name],
                    ['Template', key.template.name],
                    ['Updated', new Date(key.updated_at).toLocaleString()],
                  ]}
                />
              </Section>
              <Section title="Keystores" id="keystores">
                <div class="cards">
                  {key.status_in_keystores.map((s) => (
                    <article class="card" key={s.keystore.id} aria-labelledby={`keystore-${s.keystore.id}`}>
                      <h3 id={`keystore-${s.keystore.id}`}>{s.keystore.name}</h3>
                      <p>
                        <SyncFlag statuses={[s]} />
                      </p>
                      <Facts
                        items={[
                          ['Type', s.keystore.type],
                          ['Status', s.status.replace(/_/g, ' ')],
                          ['Detail', s.keystore_sync_flag_detail.replace(/_/g, ' ')],
                          ['Key ID in keystore', s.key_id_in_keystore],
                          ...(s.error ? [['Error', s.error.errors.map((e) => e.message).join('; ')] as [string, string]] : []),
                        ]}
                      />
                    </article>
                  ))}
                </div>
              </Section>
            </>
          );
        }}
      </Show>
    </>
  );
}
