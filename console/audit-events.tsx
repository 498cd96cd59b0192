import { useState } from 'preact/hooks';
import { request, type AuditEventView } from './api.ts';
import { Section, Select, Show, Table, useLoad } from './components.tsx';

interface AuditAnswer {
  days: number;
  events: AuditEventView[];
  /** Events of the period older than the newest the region sent. */
  older: number;
}

const PERIODS = [1, 7, 30, 90];

/** Who made a request, as short as the trail lets it be said: the principal's name, else its access key. */
const who = (event: AuditEventView): string =>
  event.userIdentity.arn?.split(':').slice(5).join(':') || event.userIdentity.accessKeyId || event.userIdentity.type;

/** The key's events in the region's audit trail, newest first: every request of every surface that named the key, allowed or refused. */
export function AuditEvents({ keyId, version }: { keyId: string; version: number }) {
  const [days, setDays] = useState(7);
  const [changesOnly, setChangesOnly] = useState(false);
  const [loaded, reload] = useLoad(
    () => request<AuditAnswer>('GET', `keys/${encodeURIComponent(keyId)}/audit-events?days=${days}&changes=${changesOnly}`),
    [keyId, version, days, changesOnly],
  );
  return (
    <Section
      title="Audit events"
      id="audit-events"
      actions={
        <>
          <Select
            id="audit-period"
            label="Period"
            value={String(days)}
            options={PERIODS.map((d) => [String(d), d === 1 ? 'Last day' : `Last ${d} days`] as const)}
            onChange={(value) => {
              setDays(Number(value));
            }}
          />
          <label class="inline">
            <input
              type="checkbox"
              checked={changesOnly}
              onChange={(event) => {
                setChangesOnly(event.currentTarget.checked);
              }}
            />
            Changes only
          </label>
          <button type="button" onClick={reload}>
            Refresh events
          </button>
        </>
      }
    >
      <Show loaded={loaded} what="audit events" retry={reload}>
        {({ events, older }) =>
          events.length === 0 ? (
            <p class="empty">No events name this key in the period.</p>
          ) : (
            <>
              <Table
                caption="Audit events of the key, newest first"
                head={['Time', 'Event', 'Source', 'User', 'Source IP', 'Result']}
                rows={events.map((e) => [
                  new Date(e.eventTime).toLocaleString(),
                  e.eventName,
                  e.eventSource,
                  <span title={e.userIdentity.arn}>{who(e)}</span>,
                  e.sourceIPAddress,
                  e.errorCode ? <span title={e.errorMessage}>{e.errorCode}</span> : 'Succeeded',
                ])}
              />
              {older > 0 && (
                <p class="note">
                  {older} older {older === 1 ? 'event' : 'events'} of the period not shown (<span class="mono">concord audit query --key</span> reads them all).
                </p>
              )}
            </>
          )
        }
      </Show>
    </Section>
  );
}
