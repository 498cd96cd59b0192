import assert from 'node:assert/strict';
import { createECDH, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { openSigkey, readSigkey, signCommand, SoftwareVault, type CommandArgs, type CommandName, type UnitInfo } from '../../src/cryptounits/index.ts';
import { eventually } from '../e2e/eventually.ts';
import { ACCOUNT, freePorts, startDev, type DevDeployment } from '../e2e/harness.ts';
import { mgmtRequest, unitCommand, type MgmtAnswer } from '../e2e/mgmt-request.ts';
import { startServerProcess, stopProcess, writeRegionConfig } from '../e2e/server-process.ts';
import { devAdministrator, softwareUnits, tkeOk } from '../e2e/tke-harness.ts';

const REGION = 'us-east-1';
const UNITS = [`${REGION}-op-1`, `${REGION}-rec-1`];
/** A principal whose identity policy allows every concord: action, and who is no administrator of any unit. */
const INTRUDER = { accessKeyId: 'AKIAUNITINTRUDER0001', secretAccessKey: 'unit-intruder-secret-access-key-01' };
const intruderKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const intruderPublicKey = signCommand(intruderKey, Buffer.alloc(0)).publicKey;

function refusedForSignatures(answer: MgmtAnswer): void {
  assert.deepEqual([answer.status, answer.json.error], [403, 'SignatureRequired'], JSON.stringify(answer.json));
  assert.equal(answer.json.result, undefined);
}

/** Starts `concord server` with `crypto` and expects it to refuse, returning what it said; one that starts is stopped and fails the test. */
async function refusedStart(dir: string, region: string, crypto: Record<string, unknown>): Promise<string> {
  const port = await freePorts(1);
  const started = await startServerProcess(writeRegionConfig(dir, region, port, { ...crypto, logLevel: 'warn' }), `http://127.0.0.1:${port}`).then(
    (child) => child,
    (error: unknown) => (error as Error).message,
  );
  if (typeof started === 'string') return started;
  await stopProcess(started, 'SIGTERM');
  assert.fail(`concord server started with ${JSON.stringify(crypto)}`);
}

describe('the crypto unit ceremony cannot be skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-ceremony-bypass-'));
  let dev: DevDeployment;
  const asIntruder = (unit: string, command: CommandName, args: CommandArgs, signers = [intruderKey]) =>
    unitCommand(dev.endpoint(), REGION, unit, command, args, signers, { as: INTRUDER });
  const unitInfo = async (unit: string) =>
    (await mgmtRequest(dev.endpoint(), REGION, 'GET', `/units/${unit}`, undefined, { as: INTRUDER })).json as unknown as UnitInfo;

  /** What the intruder tries first: to make itself an administrator, unsigned, then to end imprint mode with its own signature. */
  async function takeOver(unit: string): Promise<{ added: MgmtAnswer; thresholds: MgmtAnswer }> {
    const added = await asIntruder(unit, 'admin-add', { name: 'intruder', publicKey: intruderPublicKey }, []);
    const thresholds = await asIntruder(unit, 'thresholds-set', { signature: 1, revocation: 1 });
    return { added, thresholds };
  }

  before(async () => {
    const principalsFile = join(dir, 'principals.yaml');
    const policy = { Statement: [{ Effect: 'Allow', Action: 'concord:*', Resource: '*' }] };
    writeFileSync(principalsFile, JSON.stringify([{ arn: `arn:aws:iam::${ACCOUNT}:user/unit-intruder`, ...INTRUDER, identityPolicies: [policy] }]));
    dev = await startDev({ regions: [REGION], dataDir: join(dir, 'dev'), extraArgs: ['--principals-file', principalsFile] });
  });
  after(async () => dev.stop());

  it('refuses to make a principal allowed concord:* an administrator of a concord dev unit without the signatures of its administrators', async () => {
    for (const unit of UNITS) {
      refusedForSignatures((await takeOver(unit)).added);
      refusedForSignatures(await asIntruder(unit, 'admin-add', { name: 'intruder', publicKey: intruderPublicKey }));
      assert.deepEqual(
        (await unitInfo(unit)).admins.map((a) => a.name),
        ['dev-admin'],
      );
    }
  });

  it('refuses thresholds signed by a key that is no administrator of the unit', async () => {
    for (const unit of UNITS) {
      refusedForSignatures((await takeOver(unit)).thresholds);
      const info = await unitInfo(unit);
      assert.deepEqual([info.mode, info.signatureThreshold, info.revocationThreshold], ['normal', 1, 1]);
    }
  });

  it('refuses to export the master key to an importer the intruder holds', async () => {
    const importer = createECDH('prime256v1');
    importer.generateKeys();
    for (const unit of UNITS) {
      await takeOver(unit);
      for (const signers of [[], [intruderKey]]) {
        for (const register of ['current', 'new'])
          refusedForSignatures(await asIntruder(unit, 'mk-export', { register, importer: importer.getPublicKey('base64') }, signers));
      }
    }
  });

  it('refuses to zeroize a unit without the signatures of its administrators, and the region keeps its master key', async () => {
    const kms = dev.client();
    const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('still here') }))).CiphertextBlob!;
    for (const unit of UNITS) {
      for (const signers of [[], [intruderKey]]) refusedForSignatures(await asIntruder(unit, 'zeroize', {}, signers));
      assert.equal((await unitInfo(unit)).registers.current.state, 'valid');
    }
    assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'still here');
  });

  it("refuses an administrator's key added again under another base64 spelling, which would let one administrator count as two signers", async () => {
    const { workspace, password } = devAdministrator(dev);
    const file = readSigkey(join(workspace, 'sigkeys', 'dev-admin.json'));
    const admin = openSigkey(file, password);
    const unit = `${REGION}-op-1`;
    for (const spelling of [file.publicKey.replace(/=+$/, ''), `${file.publicKey}\n`]) {
      const answer = await unitCommand(dev.endpoint(), REGION, unit, 'admin-add', { name: 'dev-admin-again', publicKey: spelling }, [admin]);
      assert.deepEqual([answer.status, answer.json.error], [400, 'InvalidRequest'], JSON.stringify(answer.json));
    }
    assert.deepEqual(
      (await unitInfo(unit)).admins.map((a) => a.name),
      ['dev-admin'],
    );
  });

  it('keeps a unit in imprint mode empty: a zeroized unit refuses every register command and is not refilled at the next start', async () => {
    for (const unit of UNITS) assert.equal((await unitInfo(unit)).mode, 'normal');
    const { workspace, password } = devAdministrator(dev);
    const unit = `${REGION}-rec-1`;
    await tkeOk(workspace, ['cryptounit-add', '--endpoint', dev.endpoint(), '--unit', unit], password);
    assert.match(await tkeOk(workspace, ['cryptounit-zeroize', '--unit', unit], password), /back in imprint mode/);
    const zeroized = await unitInfo(unit);
    assert.equal(zeroized.mode, 'imprint');
    assert.deepEqual(Object.values(zeroized.registers), [{ state: 'empty' }, { state: 'empty' }, { state: 'empty' }]);

    const peer = createECDH('prime256v1');
    peer.generateKeys();
    const transfer = { exporter: peer.getPublicKey('base64'), wrapped: Buffer.alloc(40).toString('base64'), pattern: '0123456789abcdef' };
    const registerCommands: [CommandName, CommandArgs][] = [
      ['mk-generate', {}],
      ['mk-export', { register: 'current', importer: peer.getPublicKey('base64') }],
      ['mk-load', transfer],
      ['mk-commit', {}],
      ['mk-set', {}],
      ['mk-recover', transfer],
    ];
    for (const [command, args] of registerCommands) {
      const answer = await asIntruder(unit, command, args, []);
      assert.deepEqual([answer.status, answer.json.error], [409, 'InvalidState'], `${command}: ${JSON.stringify(answer.json)}`);
      assert.match(String(answer.json.message), /is in imprint mode/);
    }

    await dev.restart();
    const restarted = await unitInfo(unit);
    assert.deepEqual([restarted.mode, restarted.admins.map((a) => a.name)], ['normal', ['dev-admin']]);
    assert.deepEqual(Object.values(restarted.registers), [{ state: 'empty' }, { state: 'empty' }, { state: 'empty' }]);
    // The log arrives on stdout, the start banner awaited by restart() on stderr: either may come first.
    const hint = new RegExp(`Unit\\(s\\) ${unit} hold no current master key; recover it with 'concord tke auto-mk-recover'`);
    await eventually(() => {
      assert.match(dev.output(), hint);
    });
  });

  it('refuses to start a server configured to load a master key with no administrators to sign the ceremony', async () => {
    const needs = /cryptoUnits\.autoInit and cryptoUnits\.adopt load a master key through the ceremony, which needs cryptoUnits\.administrators/;
    assert.match(await refusedStart(dir, 'eu-west-1', softwareUnits(dir, 'eu-west-1', { autoInit: true })), needs);
    assert.match(await refusedStart(dir, 'eu-west-1', softwareUnits(dir, 'eu-west-1', { adopt: join(dir, 'eu-west-1', 'crypto-unit.json') })), needs);
  });

  it('refuses to serve units an earlier version left in imprint mode holding a master key, until configured administrators take them out of it', async () => {
    const region = 'eu-central-1';
    const crypto = softwareUnits(dir, region);
    const unitDirs = (crypto.cryptoUnits as { units: { id: string; role: string; dir: string }[] }).units;
    // As installed without a signature by concord dev before the start-up ceremony: one value in both units.
    const [op, rec] = unitDirs.map(({ dir: unitDir }) => SoftwareVault.open(unitDir)) as [SoftwareVault, SoftwareVault];
    const generated = await op.generateKey();
    const pattern = generated.pattern.toString('hex');
    const binding = { exporter: unitDirs[0]!.id, importer: unitDirs[1]!.id, nonce: 'legacy' };
    const handles = [
      generated.handle,
      await rec.importKey(await op.transportKey(), await op.exportKey(generated.handle, await rec.transportKey(), binding), binding),
    ];
    for (const [i, { id, role }] of unitDirs.entries()) {
      const registers = { new: { state: 'empty' }, current: { state: 'valid', pattern, handle: handles[i] }, old: { state: 'empty' } };
      await [op, rec][i]!.saveState(
        JSON.stringify({
          version: 1,
          id,
          role,
          mode: 'imprint',
          admins: [],
          signatureThreshold: 0,
          revocationThreshold: 0,
          registers,
          nonce: 'legacy',
          generation: 1,
        }),
      );
    }
    assert.match(await refusedStart(dir, region, crypto), new RegExp(`crypto unit ${region}-op is in imprint mode yet holds a master key`));

    const workspace = join(dir, 'ops-workspace');
    await tkeOk(workspace, ['sigkey-add', '--name', 'ops']);
    process.env.CONCORD_TEST_OPS_PASSWORD = 'correct horse battery staple';
    const administrators = [{ name: 'ops', sigkeyFile: join(workspace, 'sigkeys', 'ops.json'), passwordEnv: 'CONCORD_TEST_OPS_PASSWORD' }];
    const port = await freePorts(1);
    const endpoint = `http://127.0.0.1:${port}`;
    const server = await startServerProcess(
      writeRegionConfig(dir, region, port, { ...softwareUnits(dir, region, { administrators }), logLevel: 'warn' }),
      endpoint,
    );
    try {
      const { units } = (await mgmtRequest(endpoint, region, 'GET', '/units')).json as unknown as { units: UnitInfo[] };
      for (const unit of units) {
        assert.deepEqual([unit.mode, unit.admins.map((a) => a.name), unit.registers.current], ['normal', ['ops'], { state: 'valid', pattern }]);
      }
    } finally {
      await stopProcess(server, 'SIGTERM');
    }
  });

  it("keeps the dev administrator's signature key in a file only its owner can read, sealed under the password concord dev prints", async () => {
    const { workspace, password } = devAdministrator(dev);
    const path = join(workspace, 'sigkeys', 'dev-admin.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(workspace).mode & 0o777, 0o700);
    const text = readFileSync(path, 'utf8');
    assert.deepEqual(Object.keys(JSON.parse(text) as object).sort(), ['ciphertext', 'iv', 'name', 'publicKey', 'scrypt', 'tag', 'version']);
    assert.doesNotMatch(text, /PRIVATE KEY/);
    const file = readSigkey(path);
    assert.throws(() => openSigkey(file, `${password}x`), /Wrong password for signature key 'dev-admin'/);
    assert.equal(signCommand(openSigkey(file, password), Buffer.alloc(0)).publicKey, file.publicKey);
    for (const unit of UNITS) assert.deepEqual((await unitInfo(unit)).admins, [{ name: 'dev-admin', publicKey: file.publicKey }]);
  });
});
