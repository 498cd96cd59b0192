import { useState } from 'preact/hooks';
import type { KeyMetadata } from '../src/kms/index.ts';
import { AssociatedResources } from './associated-resources.tsx';
import { AuditEvents } from './audit-events.tsx';
import { kms, type SessionInfo } from './api.ts';
import { ErrorMessage, Facts, formatDate, Section, Select, Show, StateBadge, Table, TextInput, useChange, useLoad } from './components.tsx';

interface KeyPageProps {
  keyId: string;
  session: SessionInfo;
}

/**
 * One key as AWS's console shows it: general configuration with the state actions, rotation,
 * aliases, tags, key policy, grants and the multi-Region configuration with replicate and
 * update-primary, and the key's audit events. Each section reads on its own, so a section the principal may not read shows
 * its AccessDeniedException and the others still show.
 */
export function KeyPage({ keyId, session }: KeyPageProps) {
  const [version, setVersion] = useState(0);
  const changed = () => {
    setVersion((v) => v + 1);
  };
  const [described, reload] = useLoad(() => kms('DescribeKey', { KeyId: keyId }), [keyId, version]);
  return (
    <>
      <p>
        <a href="#/keys">← All keys</a>
      </p>
      <Show loaded={described} what="the key" retry={reload}>
        {({ KeyMetadata: key }) => (
          <>
            <GeneralConfiguration key={`${key!.KeyId}-${version}`} metadata={key!} onChange={changed} />
            <Rotation metadata={key!} version={version} onChange={changed} />
            <Aliases keyId={keyId} version={version} />
            <Tags keyId={keyId} version={version} />
            <KeyPolicy keyId={keyId} version={version} />
            <Grants keyId={keyId} version={version} />
            {key!.MultiRegion && <MultiRegion metadata={key!} session={session} onChange={changed} />}
            {key!.KeySpec === 'SYMMETRIC_DEFAULT' && key!.KeyManager === 'CUSTOMER' && <AssociatedResources keyId={key!.KeyId} />}
            <AuditEvents keyId={key!.KeyId} version={version} />
          </>
        )}
      </Show>
    </>
  );
}

function GeneralConfiguration({ metadata: key, onChange }: { metadata: KeyMetadata; onChange: () => void }) {
  const action = useChange(() => {
    onChange();
  });
  const [deleting, setDeleting] = useState(false);
  const [days, setDays] = useState('30');
  const state = key.KeyState;
  return (
    <Section
      title="General configuration"
      id="general"
      actions={
        <>
          {state === 'Enabled' && (
            <button
              type="button"
              disabled={action.busy}
              onClick={() => {
                action.act(() => kms('DisableKey', { KeyId: key.KeyId }));
              }}
            >
              Disable key
            </button>
          )}
          {state === 'Disabled' && (
            <button
              type="button"
              disabled={action.busy}
              onClick={() => {
                action.act(() => kms('EnableKey', { KeyId: key.KeyId }));
              }}
            >
              Enable key
            </button>
          )}
          {state === 'PendingDeletion' || state === 'PendingReplicaDeletion' ? (
            <button
              type="button"
              disabled={action.busy}
              onClick={() => {
                action.act(() => kms('CancelKeyDeletion', { KeyId: key.KeyId }));
              }}
            >
              Cancel key deletion
            </button>
          ) : (
            <button
              type="button"
              class="danger"
              aria-expanded={deleting}
              aria-controls="schedule-deletion"
              onClick={() => {
                setDeleting(!deleting);
              }}
            >
              Schedule key deletion
            </button>
          )}
        </>
      }
    >
      {deleting && state !== 'PendingDeletion' && (
        <form
          id="schedule-deletion"
          class="confirm"
          onSubmit={(event) => {
            event.preventDefault();
            action.act(() => kms('ScheduleKeyDeletion', { KeyId: key.KeyId, PendingWindowInDays: Number(days) }));
          }}
        >
          <label for="pending-window">Waiting period (7 to 30 days)</label>
          <input
            id="pending-window"
            type="number"
            min={7}
            max={30}
            required
            value={days}
            onInput={(event) => {
              setDays(event.currentTarget.value);
            }}
          />
          <button type="submit" class="danger" disabled={action.busy}>
            Schedule deletion
          </button>
        </form>
      )}
      {action.error && <ErrorMessage error={action.error} />}
      <Facts
        items={[
          ['Key ID', <span class="mono">{key.KeyId}</span>],
          ['ARN', <span class="mono">{key.Arn}</span>],
          ['Status', <StateBadge state={state} />],
          ['Description', key.Description || undefined],
          ['Created', formatDate(key.CreationDate)],
          ['Key spec', key.KeySpec],
          ['Key usage', key.KeyUsage],
          ['Origin', key.Origin],
          ['Key manager', key.KeyManager],
          ['Encryption algorithms', key.EncryptionAlgorithms?.join(', ')],
          ['Signing algorithms', key.SigningAlgorithms?.join(', ')],
          ['MAC algorithms', key.MacAlgorithms?.join(', ')],
          ...(key.DeletionDate !== undefined ? ([['Deletion date', formatDate(key.DeletionDate)]] as [string, string][]) : []),
        ]}
      />
    </Section>
  );
}

function Rotation({ metadata: key, version, onChange }: { metadata: KeyMetadata; version: number; onChange: () => void }) {
  const [status, reload] = useLoad(() => kms('GetKeyRotationStatus', { KeyId: key.KeyId }), [key.KeyId, version]);
  const action = useChange(() => {
    onChange();
  });
  return (
    <Section title="Key rotation" id="rotation">
      <Show loaded={status} what="the rotation status" retry={reload}>
        {(rotation) => (
          <>
            <Facts
              items={[
                ['Automatic rotation', rotation.KeyRotationEnabled ? 'Enabled' : 'Disabled'],
                ['Rotation period', rotation.RotationPeriodInDays !== undefined ? `${rotation.RotationPeriodInDays} days` : undefined],
                ['Next rotation', rotation.NextRotationDate !== undefined ? formatDate(rotation.NextRotationDate) : undefined],
              ]}
            />
            <button
              type="button"
              disabled={action.busy}
              onClick={() => {
                action.act(() =>
                  rotation.KeyRotationEnabled ? kms('DisableKeyRotation', { KeyId: key.KeyId }) : kms('EnableKeyRotation', { KeyId: key.KeyId }),
                );
              }}
            >
              {rotation.KeyRotationEnabled ? 'Disable automatic rotation' : 'Enable automatic rotation'}
            </button>
          </>
        )}
      </Show>
      {action.error && <ErrorMessage error={action.error} />}
    </Section>
  );
}

function Aliases({ keyId, version }: { keyId: string; version: number }) {
  const [aliases, reload] = useLoad(() => kms('ListAliases', { KeyId: keyId }), [keyId, version]);
  const [name, setName] = useState('');
  const action = useChange(() => {
    setName('');
    reload();
  });
  return (
    <Section title="Aliases" id="aliases">
      <Show loaded={aliases} what="aliases" retry={reload}>
        {({ Aliases: list = [] }) =>
          list.length ? (
            <ul class="plain">
              {list.map((a) => (
                <li key={a.AliasName}>
                  {a.AliasName}{' '}
                  <button
                    type="button"
                    class="link"
                    aria-label={`Delete alias ${a.AliasName!}`}
                    disabled={action.busy}
                    onClick={() => {
                      action.act(() => kms('DeleteAlias', { AliasName: a.AliasName! }));
                    }}
                  >
                    Delete
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p class="empty">No aliases.</p>
          )
        }
      </Show>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          action.act(() => kms('CreateAlias', { AliasName: `alias/${name}`, TargetKeyId: keyId }));
        }}
      >
        <TextInput id="new-alias" label="New alias (without alias/)" value={name} onInput={setName} />
        <button type="submit" disabled={action.busy}>
          Add alias
        </button>
      </form>
      {action.error && <ErrorMessage error={action.error} />}
    </Section>
  );
}

function Tags({ keyId, version }: { keyId: string; version: number }) {
  const [tags, reload] = useLoad(() => kms('ListResourceTags', { KeyId: keyId }), [keyId, version]);
  const [tagKey, setTagKey] = useState('');
  const [tagValue, setTagValue] = useState('');
  const action = useChange(() => {
    setTagKey('');
    setTagValue('');
    reload();
  });
  return (
    <Section title="Tags" id="tags">
      <Show loaded={tags} what="tags" retry={reload}>
        {({ Tags: list = [] }) =>
          list.length ? (
            <Table
              caption="Tags"
              head={['Tag key', 'Tag value', 'Actions']}
              rows={list.map((t) => [
                t.TagKey,
                t.TagValue,
                <button
                  type="button"
                  class="link"
                  aria-label={`Remove tag ${t.TagKey}`}
                  disabled={action.busy}
                  onClick={() => {
                    action.act(() => kms('UntagResource', { KeyId: keyId, TagKeys: [t.TagKey] }));
                  }}
                >
                  Remove
                </button>,
              ])}
            />
          ) : (
            <p class="empty">No tags.</p>
          )
        }
      </Show>
      <form
        class="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          action.act(() => kms('TagResource', { KeyId: keyId, Tags: [{ TagKey: tagKey, TagValue: tagValue }] }));
        }}
      >
        <TextInput id="tag-key" label="Tag key" value={tagKey} onInput={setTagKey} />
        <TextInput id="tag-value" label="Tag value" required={false} value={tagValue} onInput={setTagValue} />
        <button type="submit" disabled={action.busy}>
          Add tag
        </button>
      </form>
      {action.error && <ErrorMessage error={action.error} />}
    </Section>
  );
}

function KeyPolicy({ keyId, version }: { keyId: string; version: number }) {
  const [policy, reload] = useLoad(() => kms('GetKeyPolicy', { KeyId: keyId, PolicyName: 'default' }), [keyId, version]);
  return (
    <Section title="Key policy" id="key-policy">
      <Show loaded={policy} what="the key policy" retry={reload}>
        {({ Policy }) => (
          <pre class="policy" tabIndex={0} role="region" aria-label="Key policy document">
            {prettyJson(Policy ?? '')}
          </pre>
        )}
      </Show>
    </Section>
  );
}

function Grants({ keyId, version }: { keyId: string; version: number }) {
  const [grants, reload] = useLoad(() => kms('ListGrants', { KeyId: keyId }), [keyId, version]);
  return (
    <Section title="Grants" id="grants">
      <Show loaded={grants} what="grants" retry={reload}>
        {({ Grants: list = [] }) =>
          list.length ? (
            <Table
              caption="Grants"
              head={['Grant ID', 'Name', 'Grantee principal', 'Operations', 'Retiring principal', 'Created']}
              rows={list.map((g) => [g.GrantId, g.Name, g.GranteePrincipal, g.Operations?.join(', '), g.RetiringPrincipal, formatDate(g.CreationDate)])}
            />
          ) : (
            <p class="empty">No grants.</p>
          )
        }
      </Show>
    </Section>
  );
}

function MultiRegion({ metadata: key, session, onChange }: { metadata: KeyMetadata; session: SessionInfo; onChange: () => void }) {
  const config = key.MultiRegionConfiguration;
  const primary = config?.PrimaryKey?.Region;
  const replicas = (config?.ReplicaKeys ?? []).map((r) => r.Region!);
  const isPrimary = config?.MultiRegionKeyType === 'PRIMARY';
  const free = session.regions.map((r) => r.name).filter((name) => name !== primary && !replicas.includes(name));
  const [target, setTarget] = useState(free[0] ?? '');
  const [newPrimary, setNewPrimary] = useState(replicas[0] ?? '');
  const action = useChange(() => {
    onChange();
  });
  const consoleOf = (region: string) => session.regions.find((r) => r.name === region)?.url;
  return (
    <Section title="Multi-Region configuration" id="multi-region">
      <Facts
        items={[
          ['Multi-Region key type', config?.MultiRegionKeyType],
          ['Primary key', primary && <RegionLink region={primary} url={consoleOf(primary)} keyId={key.KeyId} />],
        ]}
      />
      <h3>Replica keys</h3>
      {replicas.length ? (
        <ul class="plain">
          {replicas.map((region) => (
            <li key={region}>
              <RegionLink region={region} url={consoleOf(region)} keyId={key.KeyId} />
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">No replicas.</p>
      )}
      {isPrimary ? (
        <div class="forms">
          {free.length > 0 && (
            <form
              class="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                action.act(() => kms('ReplicateKey', { KeyId: key.KeyId, ReplicaRegion: target }));
              }}
            >
              <Select id="replica-region" label="Replica region" value={target} options={free} onChange={setTarget} />
              <button type="submit" disabled={action.busy}>
                Create replica key
              </button>
            </form>
          )}
          {replicas.length > 0 && (
            <form
              class="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                action.act(() => kms('UpdatePrimaryRegion', { KeyId: key.KeyId, PrimaryRegion: newPrimary }));
              }}
            >
              <Select id="primary-region" label="New primary region" value={newPrimary} options={replicas} onChange={setNewPrimary} />
              <button type="submit" disabled={action.busy}>
                Update primary region
              </button>
            </form>
          )}
        </div>
      ) : (
        <p class="note">Replicas are created, and the primary region changed, from the primary key's region{primary ? ` (${primary})` : ''}.</p>
      )}
      {action.error && <ErrorMessage error={action.error} />}
    </Section>
  );
}

function RegionLink({ region, url, keyId }: { region: string; url: string | undefined; keyId: string }) {
  if (url === undefined || url === '') return <span>{region}</span>;
  return <a href={`${url}/console/#/keys/${encodeURIComponent(keyId)}`}>{region}</a>;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
