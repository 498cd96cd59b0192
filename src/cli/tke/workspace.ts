import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSigkey, type SigkeyFile } from '../../cryptounits/index.ts';
import { makePrivateDir, writeSecretFile } from '../../util/index.ts';
import { TkeError } from './tke-error.ts';

/** A crypto unit chosen to work on: where its region's management API is, and its ID. */
export interface ChosenUnit {
  endpoint: string;
  region: string;
  id: string;
}

/** Progress of a master key rotation, so a rerun finishes it rather than starting another. */
export interface RotationJournal {
  pattern: string;
}

/**
 * The local directory `concord tke` works in: the chosen units, the administrators'
 * signature key files, and the journal of a rotation under way.
 */
export class Workspace {
  constructor(readonly dir: string) {
    makePrivateDir(join(dir, 'sigkeys'));
  }

  units(): ChosenUnit[] {
    return (this.read('units.json') as ChosenUnit[] | undefined) ?? [];
  }

  saveUnits(units: ChosenUnit[]): void {
    this.write('units.json', units);
  }

  sigkeys(): SigkeyFile[] {
    return readdirSync(join(this.dir, 'sigkeys'))
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => readSigkey(join(this.dir, 'sigkeys', name)));
  }

  sigkey(name: string): SigkeyFile {
    const found = this.sigkeys().find((k) => k.name === name);
    if (!found) throw new TkeError(`No signature key '${name}' in ${this.dir}; create it with 'concord tke sigkey-add --name ${name}'.`);
    return found;
  }

  addSigkey(file: SigkeyFile): void {
    const path = join('sigkeys', `${file.name}.json`);
    if (existsSync(join(this.dir, path))) throw new TkeError(`A signature key named '${file.name}' already exists.`);
    this.write(path, file);
  }

  rotation(): RotationJournal | undefined {
    return this.read('rotation.json') as RotationJournal | undefined;
  }

  saveRotation(journal: RotationJournal | undefined): void {
    if (journal) this.write('rotation.json', journal);
    else rmSync(join(this.dir, 'rotation.json'), { force: true });
  }

  private read(name: string): unknown {
    const path = join(this.dir, name);
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  }

  private write(name: string, value: unknown): void {
    writeSecretFile(join(this.dir, name), JSON.stringify(value, null, 2));
  }
}
