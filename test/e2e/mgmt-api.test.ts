import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalCommand, signCommand, type UnitInfo } from '../../src/cryptounits/index.ts';
import { NodeSha256 } from '../../src/util/index.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const KMS_ONLY = { accessKeyId: 'AKIAKMSONLY000000001', secretAccessKey: 'kms-only-secret-access-key-00001' };
const LISTER = { accessKeyId: 'AKIALISTER0000000001', secretAccessKey: 'lister-secret-access-key-0000001' };

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

describe('the crypto unit management API', () => {
  let dev: DevDeployment;
  before(async () => {
    const principalsFile = join(mkdtempSync(join(tmpdir(), 'concord-mgmt-')), 'principals.yaml');
    writeFileSync(
      principalsFile,
      JSON.stringify([
        { arn: `arn:aws:iam::${ACCOUNT}:user/kms-only`, ...KMS_ONLY, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] },
        { arn: `arn:aws:iam::${ACCOUNT}:user/lister`, ...LISTER, identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: 'concord:ListCryptoUnits', Resource: '*' }] }] },
      ]),
    );
    dev = await startDev({ regions: ['us-east-1'], extraArgs: ['--principals-file', principalsFile] });
  });
  after(async () => dev.stop());

  /** A /mgmt/v1 request signed with SigV4 for concord-mgmt by an independent signer (unless sign is false). */
  async function mgmt(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    options: { secret?: string; service?: string; sign?: boolean; as?: { accessKeyId: string; secretAccessKey: string } } = {},
  ): Promise<Answer> {
    const url = new URL(`/mgmt/v1${path}`, dev.endpoint());
    const headers: Record<string, string> = { host: url.host, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
    let sent = headers;
    if (options.sign !== false) {
      const signer = new SignatureV4({
        service: options.service ?? 'concord-mgmt',
        region: 'us-east-1',
        credentials: options.as ?? { accessKeyId: ACCESS_KEY_ID, secretAccessKey: options.secret ?? SECRET_ACCESS_KEY },
        sha256: NodeSha256,
      });
      sent = (await signer.sign({ method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers, ...(body !== undefined ? { body } : {}) })).headers;
    }
    const { host: _host, ...fetchHeaders } = sent;
    const response = await fetch(url, { method, headers: fetchHeaders, ...(body !== undefined ? { body } : {}) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it('lists the units of the region to a caller signing for concord-mgmt, and no one else', async () => {
    const listed = await mgmt('GET', '/units');
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.json.units as UnitInfo[]).map((u) => [u.id, u.role]), [['us-east-1-op-1', 'operational'], ['us-east-1-rec-1', 'recovery']]);
    assert.deepEqual([(await mgmt('GET', '/units', undefined, { sign: false })).status, (await mgmt('GET', '/units', undefined, { sign: false })).json.error], [403, 'MissingAuthenticationTokenException']);
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

    const unit = (await mgmt('GET', '/units/us-east-1-op-1')).json as unknown as UnitInfo;
    const stale = await mgmt('POST', '/units/us-east-1-op-1/commands', JSON.stringify({ command: 'mk-commit', args: {}, nonce: 'stale', signatures: [] }));
    assert.deepEqual([stale.status, stale.json.error], [409, 'StaleNonce']);
    const imprint = await mgmt('POST', '/units/us-east-1-op-1/commands', JSON.stringify({ command: 'mk-commit', args: {}, nonce: unit.nonce, signatures: [] }));
    assert.deepEqual([imprint.status, imprint.json.error], [409, 'InvalidState']);
    assert.match(String(imprint.json.message), /imprint mode/);
  });

  it('accepts a signed command once: its nonce is replaced, so replaying it is refused', async () => {
    const admin = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const publicKey = signCommand(admin, Buffer.alloc(0)).publicKey;
    const unit = (await mgmt('GET', '/units/us-east-1-rec-1')).json as unknown as UnitInfo;
    const added = await mgmt('POST', '/units/us-east-1-rec-1/commands', JSON.stringify({ command: 'admin-add', args: { name: 'ops', publicKey }, nonce: unit.nonce, signatures: [] }));
    assert.equal(added.status, 200);
    const nonce = ((added.json.info as UnitInfo).nonce);
    const args = { signature: 1, revocation: 1 };
    const command = JSON.stringify({ command: 'thresholds-set', args, nonce, signatures: [signCommand(admin, canonicalCommand('us-east-1-rec-1', nonce, 'thresholds-set', args))] });
    const first = await mgmt('POST', '/units/us-east-1-rec-1/commands', command);
    assert.equal((first.json.info as UnitInfo).mode, 'normal');
    const replay = await mgmt('POST', '/units/us-east-1-rec-1/commands', command);
    assert.deepEqual([replay.status, replay.json.error], [409, 'StaleNonce']);
    const unsigned = await mgmt('POST', '/units/us-east-1-rec-1/commands', JSON.stringify({ command: 'mk-generate', args: {}, nonce: (first.json.info as UnitInfo).nonce, signatures: [] }));
    assert.deepEqual([unsigned.status, unsigned.json.error], [403, 'SignatureRequired']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(dev.output(), /"operation":"tke thresholds-set us-east-1-rec-1","accessKeyId":"[A-Z0-9]+","status":200/);
  });
});
