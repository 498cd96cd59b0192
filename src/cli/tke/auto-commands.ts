import { MasterKeyCeremony } from '../../cryptounits/index.ts';
import { ProgressBar } from '../progress-bar.ts';
import { TkeError } from './tke-error.ts';
import type { TkeSession, UnitView } from './tke-session.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** auto-init: a random master key created in a recovery unit, copied into every chosen unit, committed and made current. */
export async function autoInit(session: TkeSession): Promise<void> {
  const [ceremony, views] = await ready(session);
  await ceremony.autoInit(views);
}

/**
 * auto-mk-rotate: a new master key created in a recovery unit and loaded into every new
 * register, every stored key re-wrapped under it, then committed and made current. Each
 * step looks at the registers first, so a rerun after a crash carries on where it stopped.
 */
export async function autoMkRotate(session: TkeSession, batch: number): Promise<void> {
  const [ceremony, views] = await ready(session);
  const journal = session.workspace.rotation();
  let pattern = ceremony.loadingPattern(views);
  if (!pattern && journal && views.every((v) => v.info.registers.current.pattern === journal.pattern)) {
    pattern = journal.pattern;
  }
  if (!pattern) {
    const currents = new Set(views.map((v) => v.info.registers.current.pattern));
    const empty = views.find((v) => v.info.registers.current.state !== 'valid');
    if (empty) throw new TkeError(`Unit ${empty.ref.id} has no current master key; run 'concord tke auto-init' or 'concord tke auto-mk-recover' first.`);
    if (currents.size > 1) {
      throw new TkeError("The chosen units hold different current master keys; bring them to one with 'concord tke auto-mk-recover' first.");
    }
    pattern = await ceremony.newMasterKey(views);
  }
  session.workspace.saveRotation({ pattern });
  await ceremony.loadEverywhere(pattern);
  const rewrapped = await rewrapRegions(session, pattern, batch);
  await ceremony.commitAndSet();
  // Material wrapped while the last units were being set is moved too; usually nothing is left.
  await rewrapRegions(session, pattern, batch);
  session.workspace.saveRotation(undefined);
  say(`Master key rotated: ${pattern} is current in ${views.length} crypto unit(s); ${rewrapped} stored record(s) re-wrapped.`);
}

/** auto-mk-recover: the current master key of a recovery unit copied into the current registers of the other chosen units. */
export async function autoMkRecover(session: TkeSession, from: string | undefined, batch: number): Promise<void> {
  const [ceremony, views] = await ready(session);
  const source = views.find((v) => (from ? v.ref.id === from : v.info.role === 'recovery' && v.info.registers.current.state === 'valid'));
  if (!source)
    throw new TkeError(
      from
        ? `Unit ${from} is not among the chosen units; choose it with 'concord tke cryptounit-add'.`
        : 'No chosen recovery unit holds a current master key to recover from.',
    );
  if (source.info.role !== 'recovery') throw new TkeError(`Unit ${source.ref.id} is not a recovery unit; master keys are recovered from recovery units.`);
  const pattern = source.info.registers.current.pattern;
  if (source.info.registers.current.state !== 'valid' || !pattern) throw new TkeError(`Recovery unit ${source.ref.id} has no current master key.`);
  const targets = views.filter((v) => v !== source && v.info.registers.current.pattern !== pattern);
  for (const target of targets) {
    await ceremony.transfer(source, 'current', target, 'mk-recover', pattern);
    say(`Recovered master key ${pattern} into unit ${target.ref.id}.`);
  }
  await rewrapRegions(session, pattern, batch, targets);
  say(`All ${views.length} chosen crypto unit(s) hold master key ${pattern} as current.`);
}

async function ready(session: TkeSession): Promise<[MasterKeyCeremony<UnitView['ref']>, UnitView[]]> {
  const views = await session.chosen();
  const ceremony = new MasterKeyCeremony(session, say);
  ceremony.check(
    views,
    session.sigkeys().map((key) => key.publicKey),
  );
  return [ceremony, views];
}

/** Re-wraps the stored material of every region with a chosen operational unit; returns how many records changed. */
async function rewrapRegions(session: TkeSession, pattern: string, batch: number, among?: UnitView[]): Promise<number> {
  const endpoints = new Set((among ?? (await session.chosen())).filter((v) => v.info.role === 'operational').map((v) => v.ref.endpoint));
  let rewrapped = 0;
  for (const endpoint of endpoints) {
    const client = session.client(endpoint);
    const { total } = await client.rewrapTotal();
    const bar = new ProgressBar(`re-wrapping ${endpoint}`, total);
    let scanned = 0;
    let cursor: string | undefined;
    do {
      const progress = await client.rewrap(pattern, cursor, batch);
      scanned += progress.scanned;
      rewrapped += progress.rewrapped;
      cursor = progress.cursor;
      bar.update(scanned);
    } while (cursor !== undefined);
    bar.finish(scanned);
  }
  return rewrapped;
}
