import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MgmtClient } from '../../src/cli/index.ts';
import { canonicalCommand, openSigkey, signCommand, type CommandArgs, type CommandName, type SigkeyFile } from '../../src/cryptounits/index.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../e2e/harness.ts';
import { softwareUnits, startServerRegion, tkeOk, type ServerRegion } from '../e2e/tke-harness.ts';

const REGION = 'us-east-1';
const [OP, REC] = [`${REGION}-op`, `${REGION}-rec`];
const PASSWORD = 'correct horse battery staple';

describe('a wrapped master key is good for one transfer only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-transfer-'));
  const workspace = join(dir, 'workspace');
  let region: ServerRegion;
  let mgmt: MgmtClient;
  let run: (unit: string, command: CommandName, args: CommandArgs) => ReturnType<MgmtClient['execute']>;

  before(async () => {
    region = await startServerRegion(dir, REGION, softwareUnits(dir, REGION));
    const ok = (...args: string[]) => tkeOk(workspace, args);
    await ok('sigkey-add', '--name', 'alice');
    await ok('cryptounit-add', '--endpoint', region.endpoint, '--all');
    await ok('cryptounit-admin-add', '--sigkey', 'alice');
    await ok('cryptounit-thrhld-set', '--signature', '1', '--revocation', '1');
    await ok('auto-init');
    // The administrator's own signed requests, as an insider holding alice's key would send them.
    const alice = openSigkey(JSON.parse(readFileSync(join(workspace, 'sigkeys', 'alice.json'), 'utf8')) as SigkeyFile, PASSWORD);
    mgmt = new MgmtClient(region.endpoint, { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    run = async (unit, command, args) => {
      const { nonce } = await mgmt.unit(unit);
      return mgmt.execute(unit, { command, args, nonce, signatures: [signCommand(alice, canonicalCommand(unit, nonce, command, args))] });
    };
  });
  after(async () => region.stop());

  it('refuses a captured master key export replayed into a later command of the unit it was made for', async () => {
    const importer = await mgmt.unit(OP);
    const exporter = await mgmt.unit(REC);
    const exported = await run(REC, 'mk-export', { register: 'current', importer: importer.transportKey, importerUnit: OP, importerNonce: importer.nonce });
    const take = { exporter: exporter.transportKey, exporterUnit: REC, wrapped: exported.result!.wrapped!, pattern: exported.result!.pattern! };
    await run(OP, 'mk-recover', take);
    // Signed anew by an administrator of the importer alone, the same wrapped value must not open again.
    await assert.rejects(run(OP, 'mk-recover', take), /not made for this unit/);
    await assert.rejects(run(OP, 'mk-recover', { ...take, exporterUnit: OP }), /not made for this unit/);
  });
});
