import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, cloudhsm, type Backup, type Cluster, type SessionInfo } from './api.ts';
import { ErrorMessage, Facts, formatDate, Section, Select, Show, StateBadge, Table, TextInput, useAction, useChange, useLoad } from './components.tsx';

/** Every page of a CloudHSM v2 Describe operation: a region holds few clusters and backups, so the pages show them all. */
async function allPages<T>(operation: string, member: string, input: Record<string, unknown>): Promise<T[]> {
  const items: T[] = [];
  for (let token: string | undefined; ;) {
    const page = await cloudhsm<Record<string, unknown>>(operation, { ...input, ...(token !== undefined ? { NextToken: token } : {}) });
    items.push(...((page[member] as T[] | undefined) ?? []));
    token = page.NextToken as string | undefined;
    if (token === undefined) return items;
  }
}

const HSM_TYPES = ['hsm2m.medium', 'hsm1.medium'];
const MODES = ['FIPS', 'NON_FIPS'];

const clusterLink = (id: string) => (
  <a href={`#/hsm-clusters/${encodeURIComponent(id)}`} class="mono">
    {id}
  </a>
);
/** Hidden words that make a row's button say what it acts on, as a screen reader reads it. */
const on = (id: string) => <span class="visually-hidden"> {id}</span>;

/** The region's HSM clusters (CloudHSM v2's DescribeClusters), and Create cluster. */
export function HsmClustersPage() {
  const [loaded, reload] = useLoad(() => allPages<Cluster>('DescribeClusters', 'Clusters', {}), []);
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div class="toolbar">
        <button
          type="button"
          class="primary"
          aria-expanded={creating}
          aria-controls="create-cluster"
          onClick={() => {
            setCreating(!creating);
          }}
        >
          Create cluster
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {creating && <CreateClusterForm />}
      <Show loaded={loaded} what="HSM clusters" retry={reload}>
        {(clusters) =>
          clusters.length === 0 ? (
            <p class="empty">This region has no HSM clusters.</p>
          ) : (
            <Table
              caption="HSM clusters of this region"
              head={['Cluster ID', 'State', 'HSM type', 'Mode', 'HSMs', 'Backup retention', 'Created']}
              rows={clusters.map((c) => [
                clusterLink(c.ClusterId),
                <StateBadge state={c.State} />,
                c.HsmType,
                c.Mode,
                String(c.Hsms.length),
                `${c.BackupRetentionPolicy.Value} days`,
                formatDate(c.CreateTimestamp),
              ])}
            />
          )
        }
      </Show>
    </>
  );
}

function CreateClusterForm() {
  const [hsmType, setHsmType] = useState('hsm2m.medium');
  const [mode, setMode] = useState('FIPS');
  const [subnets, setSubnets] = useState('');
  const action = useAction();
  return (
    <form
      id="create-cluster"
      class="panel form"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const SubnetIds = subnets.split(/[\s,]+/).filter(Boolean);
          const { Cluster: created } = await cloudhsm<{ Cluster: Cluster }>('CreateCluster', { HsmType: hsmType, Mode: mode, SubnetIds });
          location.hash = `#/hsm-clusters/${encodeURIComponent(created.ClusterId)}`;
        });
      }}
    >
      <Select id="hsm-type" label="HSM type" value={hsmType} options={HSM_TYPES} onChange={setHsmType} />
      <Select id="cluster-mode" label="Mode" value={mode} options={MODES} onChange={setMode} />
      <TextInput
        id="subnet-ids"
        label="Subnet IDs, one per availability zone"
        placeholder="subnet-0a1b2c3d4e5f60718 subnet-0a1b2c3d4e5f60719"
        value={subnets}
        onInput={setSubnets}
      />
      {action.error && <ErrorMessage error={action.error} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create cluster'}
        </button>
      </div>
    </form>
  );
}

/** A destructive action asked twice: the button, then the confirmation naming what goes. */
function ConfirmButton({ label, what, onConfirm, busy }: { label: string; what: string; onConfirm: () => void; busy: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(true);
        }}
      >
        {label}
        {on(what)}
      </button>
    );
  return (
    <span class="actions" role="group" aria-label={`Confirm: ${label} ${what}`}>
      <button type="button" class="danger" disabled={busy} onClick={onConfirm}>
        Confirm {label.toLowerCase()}
        {on(what)}
      </button>
      <button
        type="button"
        onClick={() => {
          setAsking(false);
        }}
      >
        Cancel
      </button>
    </span>
  );
}

/** One cluster: its configuration, its HSMs with their IP addresses and states (create and delete), and its backups. */
export function HsmClusterPage({ id, session }: { id: string; session: SessionInfo }) {
  const [version, setVersion] = useState(0);
  const changed = () => {
    setVersion((v) => v + 1);
  };
  const [loaded, reload] = useLoad(async () => {
    const { Clusters } = await cloudhsm<{ Clusters: Cluster[] }>('DescribeClusters', { Filters: { clusterIds: [id] } });
    const cluster = Clusters[0];
    if (!cluster) throw new ApiError(400, 'CloudHsmResourceNotFoundException', `This region has no cluster ${id}.`);
    return cluster;
  }, [id, version]);
  const action = useChange(() => {
    changed();
  });
  return (
    <>
      <p>
        <a href="#/hsm-clusters">← All clusters</a>
      </p>
      <Show loaded={loaded} what="the cluster" retry={reload}>
        {(cluster) => (
          <>
            <Section
              title="General configuration"
              id="cluster-general"
              actions={
                cluster.Hsms.length === 0 &&
                cluster.State !== 'DELETED' && (
                  <ConfirmButton
                    label="Delete cluster"
                    what={cluster.ClusterId}
                    busy={action.busy}
                    onConfirm={() => {
                      action.act(() => cloudhsm('DeleteCluster', { ClusterId: cluster.ClusterId }));
                    }}
                  />
                )
              }
            >
              <Facts
                items={[
                  ['Cluster ID', <span class="mono">{cluster.ClusterId}</span>],
                  ['State', <StateBadge state={cluster.State} />],
                  ['State message', cluster.StateMessage || undefined],
                  ['HSM type', cluster.HsmType],
                  ['Mode', cluster.Mode],
                  ['Backup retention', `${cluster.BackupRetentionPolicy.Value} days`],
                  ['Source backup', cluster.SourceBackupId],
                  ['VPC', <span class="mono">{cluster.VpcId}</span>],
                  ['Security group', <span class="mono">{cluster.SecurityGroup}</span>],
                  ['Created', formatDate(cluster.CreateTimestamp)],
                ]}
              />
              {action.error && <ErrorMessage error={action.error} />}
            </Section>
            <Hsms cluster={cluster} onChange={changed} />
            <Section title="Backups" id="cluster-backups">
              <Backups session={session} clusterId={cluster.ClusterId} version={version} />
            </Section>
          </>
        )}
      </Show>
    </>
  );
}

function Hsms({ cluster, onChange }: { cluster: Cluster; onChange: () => void }) {
  const zones = Object.keys(cluster.SubnetMapping);
  const [zone, setZone] = useState(zones[0] ?? '');
  const action = useChange(() => {
    onChange();
  });
  return (
    <Section title="HSMs" id="hsms">
      {cluster.Hsms.length === 0 ? (
        <p class="empty">No HSMs in this cluster.</p>
      ) : (
        <Table
          caption="HSMs of the cluster"
          head={['HSM ID', 'Availability zone', 'IP address', 'Subnet', 'State', 'Actions']}
          rows={cluster.Hsms.map((hsm) => [
            <span class="mono">{hsm.HsmId}</span>,
            hsm.AvailabilityZone,
            <span class="mono">{hsm.EniIp}</span>,
            <span class="mono">{hsm.SubnetId}</span>,
            <StateBadge state={hsm.State} />,
            <ConfirmButton
              label="Delete HSM"
              what={hsm.HsmId}
              busy={action.busy}
              onConfirm={() => {
                action.act(() => cloudhsm('DeleteHsm', { ClusterId: cluster.ClusterId, HsmId: hsm.HsmId }));
              }}
            />,
          ])}
        />
      )}
      {cluster.State !== 'DELETED' && zones.length > 0 && (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            action.act(() => cloudhsm('CreateHsm', { ClusterId: cluster.ClusterId, AvailabilityZone: zone }));
          }}
        >
          <Select id="hsm-zone" label="Availability zone" value={zone} options={zones} onChange={setZone} />
          <button type="submit" disabled={action.busy}>
            {action.busy ? 'Working…' : 'Create HSM'}
          </button>
        </form>
      )}
      {action.error && <ErrorMessage error={action.error} />}
    </Section>
  );
}

/** The region's backups of every cluster, and those copied here from other regions. */
export function HsmBackupsPage({ session }: { session: SessionInfo }) {
  return <Backups session={session} version={0} />;
}

/**
 * Backups with their state, source region and expiry, and their actions: copy to another region
 * of the deployment, delete (PENDING_DELETION, restorable for 7 days), restore, never expires.
 */
function Backups({ session, clusterId, version }: { session: SessionInfo; clusterId?: string; version: number }) {
  const [round, setRound] = useState(0);
  const [loaded, reload] = useLoad(
    () => allPages<Backup>('DescribeBackups', 'Backups', clusterId === undefined ? {} : { Filters: { clusterIds: [clusterId] } }),
    [clusterId, version, round],
  );
  const action = useChange(() => {
    setRound((r) => r + 1);
  });
  const [copying, setCopying] = useState<string | undefined>();
  const [copied, setCopied] = useState<string | undefined>();
  const others = session.regions.map((r) => r.name).filter((name) => name !== session.region);
  const [destination, setDestination] = useState(others[0] ?? '');
  const act = (work: () => Promise<unknown>) => {
    setCopied(undefined);
    action.act(work);
  };
  const button = (label: string, backup: Backup, work: () => void, danger = false): ComponentChildren => (
    <button type="button" class={danger ? 'danger' : undefined} disabled={action.busy} onClick={work}>
      {label}
      {on(backup.BackupId)}
    </button>
  );
  return (
    <>
      <div class="toolbar">
        <button type="button" onClick={reload}>
          Refresh backups
        </button>
      </div>
      {copied && (
        <p class="success" role="status">
          {copied}
        </p>
      )}
      {action.error && <ErrorMessage error={action.error} />}
      {copying && (
        <form
          class="inline-form"
          aria-label={`Copy backup ${copying} to another region`}
          onSubmit={(event) => {
            event.preventDefault();
            const backupId = copying;
            void action.run(async () => {
              await cloudhsm('CopyBackupToRegion', { BackupId: backupId, DestinationRegion: destination });
              setCopying(undefined);
              setCopied(`Backup ${backupId} is being copied to ${destination}; the copy is listed there as a backup from ${session.region}.`);
            });
          }}
        >
          <span class="mono">{copying}</span>
          <Select id="copy-destination" label="Destination region" value={destination} options={others} onChange={setDestination} />
          <button type="submit" class="primary" disabled={action.busy}>
            Copy backup
          </button>
          <button
            type="button"
            onClick={() => {
              setCopying(undefined);
            }}
          >
            Cancel
          </button>
        </form>
      )}
      <Show loaded={loaded} what="backups" retry={reload}>
        {(backups) =>
          backups.length === 0 ? (
            <p class="empty">No backups.</p>
          ) : (
            <Table
              caption={clusterId === undefined ? 'HSM backups of this region' : `Backups of ${clusterId}`}
              head={['Backup ID', 'State', 'Cluster', 'Created', 'Source region', 'Source backup', 'Never expires', 'Actions']}
              rows={backups.map((b) => [
                <span class="mono">{b.BackupId}</span>,
                <StateBadge state={b.BackupState} />,
                b.ClusterId ? clusterLink(b.ClusterId) : undefined,
                formatDate(b.CreateTimestamp),
                b.SourceRegion,
                b.SourceBackup && <span class="mono">{b.SourceBackup}</span>,
                b.NeverExpires ? 'Yes' : 'No',
                <span class="actions">
                  {b.BackupState === 'READY' &&
                    others.length > 0 &&
                    button('Copy to region', b, () => {
                      setCopied(undefined);
                      setCopying(b.BackupId);
                    })}
                  {b.BackupState === 'READY' &&
                    button(
                      'Delete',
                      b,
                      () => {
                        act(() => cloudhsm('DeleteBackup', { BackupId: b.BackupId }));
                      },
                      true,
                    )}
                  {b.BackupState === 'PENDING_DELETION' &&
                    button('Restore', b, () => {
                      act(() => cloudhsm('RestoreBackup', { BackupId: b.BackupId }));
                    })}
                  {b.BackupState !== 'DELETED' &&
                    button(b.NeverExpires ? 'Let expire' : 'Keep forever', b, () => {
                      act(() => cloudhsm('ModifyBackupAttributes', { BackupId: b.BackupId, NeverExpires: !b.NeverExpires }));
                    })}
                </span>,
              ])}
            />
          )
        }
      </Show>
    </>
  );
}
