import { useState } from 'preact/hooks';
import { ApiError, request, type Registration } from './api.ts';
import { ActionsMenu, ConfirmPanel, ErrorMessage, Section, Show, Table, useAction, useLoad } from './components.tsx';

/** Key Protect lets a key be synchronized once an hour after its last change or notification. */
const SYNC_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The resources registered against a root key (Key Protect's registrations), and Actions →
 * Synchronize associated resources: the resources listed again with **Synchronize**, which asks
 * Key Protect to notify each of them of the key's current state.
 */
export function AssociatedResources({ keyId }: { keyId: string }) {
  const path = `key-protect/keys/${encodeURIComponent(keyId)}/registrations`;
  const [loaded, reload] = useLoad(() => request<{ registrations: Registration[] }>('GET', path), [keyId]);
  const [confirming, setConfirming] = useState(false);
  const [synced, setSynced] = useState<string | undefined>();
  const action = useAction();
  const registrations = loaded.state === 'done' ? loaded.value.registrations : [];
  const synchronize = () =>
    void action
      .run(() => request('POST', `key-protect/keys/${encodeURIComponent(keyId)}/sync`))
      .then((done) => {
        if (!done) return;
        setConfirming(false);
        setSynced(new Date().toLocaleString());
        reload();
      });
  return (
    <Section
      title="Associated resources"
      id="associated-resources"
      actions={
        <ActionsMenu
          label="Actions for the associated resources"
          items={[
            {
              name: 'Synchronize associated resources',
              run: () => {
                setSynced(undefined);
                action.clear();
                setConfirming(true);
              },
            },
          ]}
        />
      }
    >
      {synced && (
        <p class="success" role="status">
          The associated resources were notified of the key’s current state ({synced}).
        </p>
      )}
      {confirming && (
        <ConfirmPanel
          id="sync-resources-title"
          title="Synchronize: each resource below is notified again of this key’s state. Key Protect allows it once an hour after the key’s last change or notification."
          label="Synchronize"
          busy={action.busy}
          onConfirm={synchronize}
          onCancel={() => {
            setConfirming(false);
          }}
        />
      )}
      {action.error && <ErrorMessage error={tooEarly(action.error, registrations)} />}
      <Show loaded={loaded} what="the associated resources" retry={reload}>
        {({ registrations: list }) =>
          list.length === 0 ? (
            <p>No resource is registered with this key.</p>
          ) : (
            <Table
              caption="Associated resources"
              head={['Resource CRN', 'Description', 'Prevents deletion', 'Key version', 'Last notification']}
              rows={list.map((r) => [
                r.resourceCrn,
                r.description,
                r.preventKeyDeletion ? 'Yes' : 'No',
                r.keyVersion.id,
                r.lastNotification ? `${r.lastNotification.event}, ${new Date(r.lastNotification.queuedAt).toLocaleString()}` : undefined,
              ])}
            />
          )
        }
      </Show>
    </Section>
  );
}

/** Key Protect's refusal within the interval, saying when the next synchronization is allowed (from the latest notification the page knows). */
function tooEarly(error: ApiError, registrations: Registration[]): ApiError {
  if (error.code !== 'REQ_TOO_EARLY_ERR') return error;
  const notified = Math.max(0, ...registrations.map((r) => (r.lastNotification ? Date.parse(r.lastNotification.queuedAt) : 0)));
  // Without a notification the page knows of, the key changed within the hour: an hour from now is the latest it can be.
  const when = new Date((notified > 0 ? notified : Date.now()) + SYNC_INTERVAL_MS).toLocaleTimeString();
  return new ApiError(error.status, error.code, `The key was synchronized or changed less than an hour ago; try again after ${when}.`);
}
