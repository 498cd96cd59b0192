/** A keystore's view of one managed key, as IBM's status_in_keystores lists it. */
export interface StatusInKeystore {
  keystore: { id: string; name: string; type: string };
  status: string;
  keystore_sync_flag: string;
  keystore_sync_flag_detail: string;
  key_id_in_keystore?: string;
  error?: { errors: { code: string; message: string }[] };
}

/** The status of a managed key in its keystores, or why it could not be read. */
export interface KeyStatus {
  managed_key: { id: string; label: string };
  status_in_keystores?: StatusInKeystore[];
  error?: string;
}

/** Rows under a header, each column as wide as its widest cell, for a person at a terminal. */
export function ukoTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** One row per managed key and keystore: what verify found or sync left, with the keystore's reason where it refused. */
export function statusTable(statuses: KeyStatus[]): string {
  const rows = statuses.flatMap(({ managed_key: key, status_in_keystores: inKeystores, error }) =>
    error !== undefined
      ? [[key.id, key.label, '-', '-', 'error', error]]
      : (inKeystores ?? []).map((s) => [
          key.id,
          key.label,
          s.keystore.name,
          s.status,
          s.keystore_sync_flag,
          [s.keystore_sync_flag_detail, ...(s.error?.errors.map((e) => e.message) ?? [])].filter(Boolean).join(': '),
        ]),
  );
  return ukoTable(['MANAGED KEY', 'LABEL', 'KEYSTORE', 'STATUS', 'SYNC', 'DETAIL'], rows);
}

/** Whether every keystore of every key agrees with its managed key. */
export const allInSync = (statuses: KeyStatus[]): boolean =>
  statuses.every((s) => s.error === undefined && (s.status_in_keystores ?? []).every((k) => k.keystore_sync_flag === 'ok'));
