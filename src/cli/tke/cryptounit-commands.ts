import { adminKeyId as keyId, createSigkey, type UnitInfo } from '../../cryptounits/index.ts';
import { TkeError } from './tke-error.ts';
import type { TkeSession, UnitView } from './tke-session.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

export async function sigkeyAdd(session: TkeSession, name: string): Promise<void> {
  if (!/^[A-Za-z0-9._-]{1,30}$/.test(name)) throw new TkeError('A signature key name has 1 to 30 letters, digits, dots, dashes or underscores.');
  const file = createSigkey(name, await session.newPassword(`the new signature key '${name}'`));
  session.workspace.addSigkey(file);
  say(`Signature key '${name}' created (key ID ${keyId(file.publicKey)}).`);
}

export function sigkeyList(session: TkeSession): void {
  for (const key of session.workspace.sigkeys()) say(`${key.name.padEnd(30)} ${keyId(key.publicKey)}`);
}

export async function cryptounitList(session: TkeSession, endpoint: string): Promise<void> {
  const { region, units } = await session.client(endpoint).units();
  const chosen = new Set(
    session.workspace
      .units()
      .filter((u) => u.endpoint === endpoint)
      .map((u) => u.id),
  );
  say(`Crypto units of ${region} (${endpoint}); * = chosen`);
  for (const unit of units) {
    const current = unit.registers.current;
    say(
      `${chosen.has(unit.id) ? '*' : ' '} ${unit.id.padEnd(24)} ${unit.role.padEnd(12)} ${unit.backend.padEnd(9)} ${unit.mode.padEnd(8)} admins ${unit.admins.length} thresholds ${unit.signatureThreshold}/${unit.revocationThreshold} current ${current.state}${current.pattern ? ` ${current.pattern}` : ''}`,
    );
  }
}

export async function cryptounitAdd(session: TkeSession, endpoint: string, ids: string[], all: boolean): Promise<void> {
  const { region, units } = await session.client(endpoint).units();
  const wanted = all ? units.map((u) => u.id) : ids;
  if (wanted.length === 0) throw new TkeError('Name the units with --unit ID (see cryptounit-list) or give --all.');
  const chosen = session.workspace.units();
  for (const id of wanted) {
    if (!units.some((u) => u.id === id))
      throw new TkeError(`${endpoint} has no crypto unit '${id}'; see 'concord tke cryptounit-list --endpoint ${endpoint}'.`);
    if (!chosen.some((u) => u.endpoint === endpoint && u.id === id)) chosen.push({ endpoint, region, id });
  }
  session.workspace.saveUnits(chosen);
  say(`Chosen units: ${chosen.map((u) => u.id).join(', ')}`);
}

export function cryptounitRm(session: TkeSession, ids: string[]): void {
  const chosen = session.workspace.units();
  const missing = ids.find((id) => !chosen.some((u) => u.id === id));
  if (missing) throw new TkeError(`Unit ${missing} is not chosen.`);
  const kept = chosen.filter((u) => !ids.includes(u.id));
  session.workspace.saveUnits(kept);
  say(`Chosen units: ${kept.map((u) => u.id).join(', ') || '(none)'}`);
}

/** The chosen units side by side; rows whose values differ are marked with '*'. */
export async function cryptounitCompare(session: TkeSession): Promise<void> {
  const views = await session.chosen();
  const register = (info: UnitInfo, name: 'new' | 'current' | 'old') => {
    const r = info.registers[name];
    return r.pattern ? `${r.state} ${r.pattern}` : r.state;
  };
  const admins = new Map<string, string>();
  for (const v of views) for (const a of v.info.admins) if (!admins.has(a.publicKey)) admins.set(a.publicKey, a.name);
  const rows: [string, string[], boolean][] = [
    ['region', views.map((v) => v.ref.region), false],
    ['role', views.map((v) => v.info.role), false],
    ['mode', views.map((v) => v.info.mode), true],
    ['signature threshold', views.map((v) => String(v.info.signatureThreshold)), true],
    ['revocation threshold', views.map((v) => String(v.info.revocationThreshold)), true],
    ...[...admins].map(([publicKey, name]): [string, string[], boolean] => [
      `admin ${name}`,
      views.map((v) => (v.info.admins.some((a) => a.publicKey === publicKey) ? keyId(publicKey) : '-')),
      true,
    ]),
    ['new register', views.map((v) => register(v.info, 'new')), true],
    ['current register', views.map((v) => register(v.info, 'current')), true],
    ['old register', views.map((v) => register(v.info, 'old')), true],
  ];
  const labels = ['', ...rows.map(([label]) => label)];
  const labelWidth = Math.max(...labels.map((l) => l.length)) + 2;
  const widths = views.map((v, i) => Math.max(v.ref.id.length, ...rows.map(([, cells]) => cells[i]!.length)));
  const line = (mark: string, label: string, cells: string[]) => {
    say(`${mark} ${label.padEnd(labelWidth)}${cells.map((c, i) => c.padEnd(widths[i]! + 2)).join('')}`.trimEnd());
  };
  line(
    ' ',
    '',
    views.map((v) => v.ref.id),
  );
  for (const [label, cells, compared] of rows) line(compared && new Set(cells).size > 1 ? '*' : ' ', label, cells);
}

export async function adminAdd(session: TkeSession, sigkeyName: string, adminName: string | undefined): Promise<void> {
  const key = session.workspace.sigkey(sigkeyName);
  for (const view of await session.chosen()) {
    if (view.info.admins.some((a) => a.publicKey === key.publicKey)) {
      say(`${key.name} is already an administrator of ${view.ref.id}.`);
      continue;
    }
    await session.run(view.ref, 'admin-add', { name: adminName ?? key.name, publicKey: key.publicKey });
    say(`Added administrator ${adminName ?? key.name} to ${view.ref.id}.`);
  }
}

export async function adminRm(session: TkeSession, publicKey: string): Promise<void> {
  for (const view of await session.chosen()) {
    const admin = view.info.admins.find((a) => a.publicKey === publicKey);
    if (!admin) continue;
    await session.run(view.ref, 'admin-remove', { publicKey });
    say(`Removed administrator ${admin.name} from ${view.ref.id}.`);
  }
}

export async function adminList(session: TkeSession): Promise<void> {
  const sigkeys = session.workspace.sigkeys();
  for (const view of await session.chosen()) {
    say(`${view.ref.id} (${view.info.mode}, signature threshold ${view.info.signatureThreshold}, revocation threshold ${view.info.revocationThreshold}):`);
    for (const admin of view.info.admins) {
      const local = sigkeys.find((k) => k.publicKey === admin.publicKey);
      say(`  ${admin.name.padEnd(30)} ${keyId(admin.publicKey)}${local ? `  (signature key '${local.name}' in the workspace)` : ''}`);
    }
  }
}

export async function thresholdsSet(session: TkeSession, signature: number, revocation: number): Promise<void> {
  for (const view of await session.chosen()) {
    await session.run(view.ref, 'thresholds-set', { signature, revocation });
    say(`Unit ${view.ref.id}: signature threshold ${signature}, revocation threshold ${revocation}.`);
  }
}

export async function zeroize(session: TkeSession, id: string): Promise<void> {
  const view: UnitView | undefined = (await session.chosen()).find((v) => v.ref.id === id);
  if (!view) throw new TkeError(`Unit ${id} is not chosen; choose it with 'concord tke cryptounit-add' first.`);
  await session.run(view.ref, 'zeroize');
  say(`Unit ${id} zeroized: its master key registers, administrators and thresholds are cleared and it is back in imprint mode.`);
}
