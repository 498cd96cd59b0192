import { useState } from 'preact/hooks';
import { request, type UnitView } from './api.ts';
import { Section, Show, useLoad } from './components.tsx';

interface UnitsAnswer {
  region: string;
  units: UnitView[];
}

type Row = [label: string, cells: string[], compared: boolean];

const register = (unit: UnitView, name: 'new' | 'current' | 'old'): string => {
  const r = unit.registers[name];
  return r.pattern ? `${r.state} ${r.pattern}` : r.state;
};

/** The rows of `concord tke cryptounit-compare`: the units side by side, the rows that should agree compared. */
export function compareRows(units: UnitView[]): Row[] {
  const admins = new Map<string, string>();
  for (const unit of units) for (const admin of unit.admins) if (!admins.has(admin.keyId)) admins.set(admin.keyId, admin.name);
  return [
    ['Role', units.map((u) => u.role), false],
    ['Backend', units.map((u) => u.backend), false],
    ['Mode', units.map((u) => u.mode), true],
    ['Signature threshold', units.map((u) => String(u.signatureThreshold)), true],
    ['Revocation threshold', units.map((u) => String(u.revocationThreshold)), true],
    ...[...admins].map(([keyId, name]): Row => [`Administrator ${name}`, units.map((u) => (u.admins.some((a) => a.keyId === keyId) ? keyId : '—')), true]),
    ['New register', units.map((u) => register(u, 'new')), true],
    ['Current register', units.map((u) => register(u, 'current')), true],
    ['Old register', units.map((u) => register(u, 'old')), true],
  ];
}

/** The region's crypto units, and the chosen ones compared as `concord tke cryptounit-compare` does. */
export function CryptoUnitsPage() {
  const [loaded, reload] = useLoad(() => request<UnitsAnswer>('GET', 'crypto-units'), []);
  const [unchosen, setUnchosen] = useState<ReadonlySet<string>>(new Set());
  return (
    <Show loaded={loaded} what="crypto units" retry={reload}>
      {({ region, units }) => {
        const chosen = units.filter((u) => !unchosen.has(u.id));
        const rows = compareRows(chosen);
        const differing = rows.filter(([, cells, compared]) => compared && new Set(cells).size > 1).length;
        return (
          <>
            <Section title={`Units of ${region}`} id="units">
              <fieldset class="choose">
                <legend>Units to compare</legend>
                {units.map((unit) => (
                  <label key={unit.id} class="inline">
                    <input
                      type="checkbox"
                      checked={!unchosen.has(unit.id)}
                      onChange={(event) => {
                        const next = new Set(unchosen);
                        if (event.currentTarget.checked) next.delete(unit.id);
                        else next.add(unit.id);
                        setUnchosen(next);
                      }}
                    />{' '}
                    {unit.id} <span class="muted">({unit.role})</span>
                  </label>
                ))}
              </fieldset>
            </Section>
            <Section title="Compare" id="compare">
              {chosen.length === 0 ? (
                <p class="empty">Choose at least one unit.</p>
              ) : (
                <>
                  <p role="status">
                    {differing === 0 ? 'The chosen units agree.' : `${differing} ${differing === 1 ? 'row differs' : 'rows differ'} between the chosen units.`}
                  </p>
                  <div class="table-wrap" tabIndex={0} role="region" aria-label="Crypto unit comparison">
                    <table class="compare">
                      <caption class="visually-hidden">Chosen crypto units side by side; rows whose values differ are marked</caption>
                      <thead>
                        <tr>
                          <th scope="col">Property</th>
                          {chosen.map((u) => (
                            <th key={u.id} scope="col" class="mono">
                              {u.id}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {rows.map(([label, cells, compared]) => {
                          const differs = compared && new Set(cells).size > 1;
                          return (
                            <tr key={label} class={differs ? 'differs' : undefined}>
                              <th scope="row">
                                {label}
                                {differs && <span class="badge differs-badge">Differs</span>}
                              </th>
                              {cells.map((cell, i) => (
                                <td key={i} class="mono">
                                  {cell}
                                </td>
                              ))}
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                </>
              )}
            </Section>
          </>
        );
      }}
    </Show>
  );
}
