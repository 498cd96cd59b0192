import type { ComponentChildren } from 'preact';
import type { SessionInfo } from './api.ts';
import { CreateKeyPage } from './create-key-page.tsx';
import { CryptoUnitsPage } from './crypto-units-page.tsx';
import { HsmBackupsPage, HsmClusterPage, HsmClustersPage } from './hsm-pages.tsx';
import { KeyPage } from './key-page.tsx';
import { KeysPage } from './keys-page.tsx';
import { ManagedKeyPage, ManagedKeysPage } from './managed-keys-page.tsx';

/**
 * One section of the console: its place in the menu and URL (`#/<section>/<id>`), and what it
 * shows. A capability's pages (managed keys and keystores, HSM clusters, audit events) are one
 * entry here and their own file.
 */
export interface ConsoleSection {
  section: string;
  nav: string;
  /** The page for `#/<section>` (id undefined) or `#/<section>/<id>`. */
  page(id: string | undefined, session: SessionInfo): { title: string; body: ComponentChildren };
}

export const SECTIONS: readonly ConsoleSection[] = [
  {
    section: 'keys',
    nav: 'Keys',
    page(id, session) {
      if (id === undefined) return { title: 'Customer managed keys', body: <KeysPage /> };
      if (id === 'new') return { title: 'Create key', body: <CreateKeyPage /> };
      return { title: `Key ${id}`, body: <KeyPage keyId={id} session={session} /> };
    },
  },
  {
    section: 'managed-keys',
    nav: 'Managed keys',
    page: (id) => (id === undefined ? { title: 'Managed keys', body: <ManagedKeysPage /> } : { title: `Managed key ${id}`, body: <ManagedKeyPage id={id} /> }),
  },
  { section: 'crypto-units', nav: 'Crypto units', page: () => ({ title: 'Crypto units', body: <CryptoUnitsPage /> }) },
  {
    section: 'hsm-clusters',
    nav: 'HSM clusters',
    page: (id, session) =>
      id === undefined ? { title: 'HSM clusters', body: <HsmClustersPage /> } : { title: `Cluster ${id}`, body: <HsmClusterPage id={id} session={session} /> },
  },
  { section: 'hsm-backups', nav: 'HSM backups', page: (_id, session) => ({ title: 'HSM backups', body: <HsmBackupsPage session={session} /> }) },
];

/** The section and page a URL fragment names; the key list for any other. */
export function route(hash: string, session: SessionInfo): { section: string; title: string; body: ComponentChildren } {
  const [name, id] = hash.replace(/^#\/?/, '').split('/');
  const section = SECTIONS.find((s) => s.section === name) ?? SECTIONS[0]!;
  return { section: section.section, ...section.page(section.section === name && id ? decodeURIComponent(id) : undefined, session) };
}
