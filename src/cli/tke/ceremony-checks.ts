import type { SigkeyFile } from './sigkey-file.ts';
import { TkeError } from './tke-error.ts';
import type { UnitView } from './tke-session.ts';

/**
 * What every automatic master key command needs of the chosen units before it changes
 * anything: out of imprint mode, one signature threshold, a common set of administrators
 * whose keys the workspace holds and that can meet it, and a recovery unit.
 */
export function checkCeremony(views: UnitView[], sigkeys: SigkeyFile[]): void {
  const imprint = views.find((v) => v.info.mode === 'imprint');
  if (imprint) {
    throw new TkeError(
      `Unit ${imprint.ref.id} is in imprint mode: add administrators with 'concord tke cryptounit-admin-add' and set its thresholds with 'concord tke cryptounit-thrhld-set' first.`,
    );
  }
  const thresholds = new Set(views.map((v) => v.info.signatureThreshold));
  if (thresholds.size > 1) {
    const list = views.map((v) => `${v.ref.id}: ${v.info.signatureThreshold}`).join(', ');
    throw new TkeError(`The chosen units have different signature thresholds (${list}); make them equal with 'concord tke cryptounit-thrhld-set'.`);
  }
  const threshold = views[0]!.info.signatureThreshold;
  const common = sigkeys.filter((key) => views.every((v) => v.info.admins.some((a) => a.publicKey === key.publicKey)));
  if (common.length < threshold) {
    throw new TkeError(
      `No common set of administrators can meet the signature threshold ${threshold}: the workspace holds signature keys of ${common.length} administrator(s) common to every chosen unit. Add the same administrators to every unit with 'concord tke cryptounit-admin-add', or load their keys into the workspace.`,
    );
  }
  if (!views.some((v) => v.info.role === 'recovery')) {
    throw new TkeError("None of the chosen units is a recovery unit; choose one with 'concord tke cryptounit-add --endpoint URL --unit ID'.");
  }
}
