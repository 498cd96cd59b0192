import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalCommand, openSigkey, readSigkey, signCommand, type UnitInfo } from '../../src/cryptounits/index.ts';
import { ACCOUNT, startDev, type DevDeployment } from './harness.ts';
import { mgmtRequest, unitCommand, type MgmtAnswer as Answer, type MgmtOptions } from './mgmt-request.ts';
import { devAdministrator } from './tke-harness.ts';
import { eventually } from './eventually.ts';

const KMS_ONLY = { accessKeyId: 'AKIAKMSONLY000000001', secretAccessKey: 'kms-only-secret-access-key-00001' };
const LISTER = { accessKeyId: 'AKIALISTER0000000001', secretAccessKey: 'lister-secret-access-key-0000001' };

describe('the crypto unit management API', () => {
  let dev: DevDeployment;
  /** The private key of the units' administrator, which concord dev made. */
  let devAdmin: KeyObject;
  before(async () => {
    const principalsFile = join(mkdtempSync(join(tmpdir(), 'concord-mgmt-')), 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { arn: `arn:aws:iam::${ACCOUNT}:user/kms-only`, ...KMS_ONLY, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] },
        {
          arn: `arn:aws:iam::${ACCOUNT}:user/lister`,
          ...LISTER,
          identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'concord:ListCryptoUnits', Resource: '*' }] }],
        },
      ]),
    );
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--principals-file', principalsFile] });
    const { workspace, password } = devAdministrator(dev);
    devAdmin = openSigkey(readSigkey(join(workspace, 'sigkeys', 'dev-admin.json')), password);
  });
  after(async () => dev.stop());

  const mgmt = (method: 'GET' | 'POST', path: string, body?: string, options?: MgmtOptions): Promise<Answer> =>
    mgmtRequest(dev.endpoint(), 'us-east-1', method, path, body, options);

  it('lists the units of the region to a caller signing for concord-mgmt, and no one else', async () => {
    const listed = await mgmt('GET', '/units');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      (listed.json.units as UnitInfo[]).map((u) => [u.id, u.role]),
      [
        ['us-east-1-op-1', 'operational'],
        ['us-east-1-rec-1', 'recovery'],
      ],
    );
    assert.deepEqual(
      [(await mgmt('GET', '/units', undefined, { sign: false })).status, (await mgmt('GET', '/units', undefined, { sign: false })).json.error],
      [403, 'MissingAuthenticationTokenException'],
    );
    const forged = await mgmt('GET', '/units', undefined, { secret: 'not-the-secret-access-key' });
    assert.deepEqual([forged.status, forged.json.error], [403, 'InvalidSignatureException']);
    const kmsScoped = await mgmt('GET', '/units', undefined, { service: 'kms' });
    assert.deepEqual([kmsScoped.status, kmsScoped.json.error], [403, 'InvalidSignatureException']);
  });

  it('serves a principal only the concord: actions its identity policies allow; kms:* is not enough', async () => {
    const refused = (answer: Answer, action: string) => {
      assert.deepEqual([answer.status, answer.json.error], [403, 'AccessDeniedException']);
      assert.match(String(answer.json.message), new RegExp(`is not authorized to perform: concord:${action} on resource: \\*`));
    };
    refused(await mgmt('GET', '/units', undefined, { as: KMS_ONLY }), 'ListCryptoUnits');
    refused(await mgmt('GET', '/units/us-east-1-op-1', undefined, { as: KMS_ONLY }), 'DescribeCryptoUnit');
    refused(await mgmt('GET', '/rewrap', undefined, { as: KMS_ONLY }), 'GetRewrapStatus');
    refused(await mgmt('POST', '/rewrap', JSON.stringify({ pattern: 'x' }), { as: KMS_ONLY }), 'RewrapKeyMaterial');
    // Refused before the unit looks at the command: a stale nonce would otherwise answer 409.
    const zeroize = JSON.stringify({ command: 'zeroize', args: {}, nonce: 'stale', signatures: [] });
    refused(await mgmt('POST', '/units/us-east-1-op-1/commands', zeroize, { as: KMS_ONLY }), 'ZeroizeCryptoUnit');

    const listed = await mgmt('GET', '/units', undefined, { as: LISTER });
    assert.deepEqual([listed.status, (listed.json.units as UnitInfo[]).length], [200, 2]);
    refused(await mgmt('GET', '/units/us-east-1-op-1', undefined, { as: LISTER }), 'DescribeCryptoUnit');

    // The dev administrator's identity policy allows concord:* besides kms:*.
    assert.equal((await mgmt('GET', '/units/us-east-1-op-1')).status, 200);
    assert.equal((await mgmt('GET', '/rewrap')).status, 200);
    assert.deepEqual((await mgmt('POST', '/units/us-east-1-op-1/commands', zeroize)).json.error, 'StaleNonce');
  });

  it('answers refusals as JSON with a 4xx status and a message', async () => {
    const missing = await mgmt('GET', '/units/no-such-unit');
    assert.deepEqual([missing.status, missing.json.error], [404, 'NotFound']);
    assert.match(String(missing.json.message), /no crypto unit 'no-such-unit'/);

    const notJson = await mgmt('POST', '/units/us-east-1-op-1/commands', '{not json');
    assert.deepEqual([notJson.status, notJson.json.error], [400, 'InvalidRequest']);
    const unknown = await mgmt('POST', '/units/us-east-1-op-1/commands', JSON.stringify({ command: 'format-disk', args: {}, nonce: 'x', signatures: [] }));
    assert.deepEqual([unknown.status, unknown.json.error], [400, 'InvalidRequest']);

    const stale = await mgmt('POST', '/units/us-east-1-op-1/commands', JSON.stringify({ command: 'mk-commit', args: {}, nonce: 'stale', signatures: [] }));
    assert.deepEqual([stale.status, stale.json.error], [409, 'StaleNonce']);
    const unsigned = await unitCommand(dev.endpoint(), 'us-east-1', 'us-east-1-op-1', 'mk-commit', {}, []);
    assert.deepEqual([unsigned.status, unsigned.json.error], [403, 'SignatureRequired']);
    const nothingToCommit = await unitCommand(dev.endpoint(), 'us-east-1', 'us-east-1-op-1', 'mk-commit', {}, [devAdmin]);
    assert.deepEqual([nothingToCommit.status, nothingToCommit.json.error], [409, 'InvalidState']);
    assert.match(String(nothingToCommit.json.message), /new master key register of unit us-east-1-op-1 is empty/);
  });

  it('accepts a signed command once: its nonce is replaced, so replaying it is refused', async () => {
    const ops = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const publicKey = signCommand(ops, Buffer.alloc(0)).publicKey;
    const unit = (await mgmt('GET', '/units/us-east-1-rec-1')).json as unknown as UnitInfo;
    const args = { name: 'ops', publicKey };
    const command = JSON.stringify({
      command: 'admin-add',
      args,
      nonce: unit.nonce,
      signatures: [signCommand(devAdmin, canonicalCommand('us-east-1-rec-1', unit.nonce, 'admin-add', args))],
    });
    const first = await mgmt('POST', '/units/us-east-1-rec-1/commands', command);
    assert.equal(first.status, 200);
    assert.deepEqual(
      (first.json.info as UnitInfo).admins.map((a) => a.name),
      ['dev-admin', 'ops'],
    );
    const replay = await mgmt('POST', '/units/us-east-1-rec-1/commands', command);
    assert.deepEqual([replay.status, replay.json.error], [409, 'StaleNonce']);
    const unsigned = await mgmt(
      'POST',
      '/units/us-east-1-rec-1/commands',
      JSON.stringify({ command: 'mk-generate', args: {}, nonce: (first.json.info as UnitInfo).nonce, signatures: [] }),
    );
    assert.deepEqual([unsigned.status, unsigned.json.error], [403, 'SignatureRequired']);
    await eventually(() => {
      assert.match(
        dev.output(),
        /"operation":"tke admin-add us-east-1-rec-1","accessKeyId":"[A-Z0-9]+","principal":"arn:aws:iam::\d{12}:user\/admin","status":200/,
      );
    });
  });
});
