import { useState } from 'preact/hooks';
import { get, type KeyRow } from './api.ts';
import { ErrorMessage, Show, StateBadge, useAction, useLoad } from './components.tsx';

interface KeysAnswer {
  keys: KeyRow[];
  nextMarker?: string;
  aliasesError?: { code: string; message: string };
}

export const regionality = (row: KeyRow): string => {
  const type = row.KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType;
  return type === 'PRIMARY' ? 'Multi-Region primary' : type === 'REPLICA' ? 'Multi-Region replica' : row.KeyMetadata ? 'Single-Region' : '—';
};

/** The region's keys, 100 a page, each with what DescribeKey and ListAliases tell of it. */
export function KeysPage() {
  const [loaded, reload] = useLoad(() => get<KeysAnswer>('keys'), []);
  const [more, setMore] = useState<KeysAnswer[]>([]);
  const loadMore = useAction();
  return (
    <>
      <div class="toolbar">
        <a class="button primary" href="#/keys/new">
          Create key
        </a>
        <button
          type="button"
          onClick={() => {
            setMore([]);
            reload();
          }}
        >
          Refresh
        </button>
      </div>
      <Show loaded={loaded} what="keys" retry={reload}>
        {(first) => {
          const pages = [first, ...more];
          const rows = pages.flatMap((p) => p.keys);
          const next = pages.at(-1)!.nextMarker;
          return (
            <>
              {first.aliasesError && <p class="note">Aliases are not shown: {first.aliasesError.code}.</p>}
              {rows.length === 0 ? (
                <p class="empty">This region has no keys yet.</p>
              ) : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label="Keys">
                  <table>
                    <caption class="visually-hidden">Keys of this region</caption>
                    <thead>
                      <tr>
                        <th scope="col">Aliases</th>
                        <th scope="col">Key ID</th>
                        <th scope="col">Status</th>
                        <th scope="col">Key spec</th>
                        <th scope="col">Key usage</th>
                        <th scope="col">Regionality</th>
                        <th scope="col">Description</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((row) => (
                        <tr key={row.KeyId}>
                          <td>{row.Aliases.length ? row.Aliases.join(', ') : '—'}</td>
                          <td>
                            <a href={`#/keys/${encodeURIComponent(row.KeyId)}`} class="mono">
                              {row.KeyId}
                            </a>
                          </td>
                          <td>{row.error ? <span title={row.error.message}>{row.error.code}</span> : <StateBadge state={row.KeyMetadata?.KeyState} />}</td>
                          <td>{row.KeyMetadata?.KeySpec ?? '—'}</td>
                          <td>{row.KeyMetadata?.KeyUsage ?? '—'}</td>
                          <td>{regionality(row)}</td>
                          <td>{row.KeyMetadata?.Description || '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {loadMore.error && <ErrorMessage error={loadMore.error} />}
              {next && (
                <button
                  type="button"
                  disabled={loadMore.busy}
                  onClick={() =>
                    void loadMore.run(async () => {
                      setMore([...more, await get<KeysAnswer>(`keys?marker=${encodeURIComponent(next)}`)]);
                    })
                  }
                >
                  {loadMore.busy ? 'Loading…' : 'Load more keys'}
                </button>
              )}
            </>
          );
        }}
      </Show>
    </>
  );
}
