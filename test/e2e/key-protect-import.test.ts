import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DecryptCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { sealImportEnvelope } from '../../src/crypto/index.ts';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { ACCOUNT } from './harness.ts';
import { json, KP_APIKEYS, kpClient, kpRegionConfig, rejectsWith, type KeyProtectV2 } from './key-protect-client.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';

const REGION = 'us-east-1';
const bluemixInstance = instanceIdOf(ACCOUNT, REGION);

interface KpKey {
  id: string;
  state: number;
  extractable: boolean;
  imported: boolean;
}
interface RetrievedToken {
  payload: string;
  nonce: string;
  creationDate: string;
  expirationDate: string;
  maxAllowedRetrievals: number;
  remainingRetrievals: number;
}

describe('Key Protect import tokens and imported root keys through IBM Key Protect SDK', () => {
  let region: RegionServers;
  let kp: KeyProtectV2;

  const keyBody = (resource: Record<string, unknown>) =>
    json({
      metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
      resources: [{ type: 'application/vnd.ibm.kms.key+json', ...resource }],
    });
  const create = async (resource: Record<string, unknown>): Promise<KpKey> =>
    ((await kp.createKey({ bluemixInstance, body: keyBody(resource) })).result as unknown as { resources: KpKey[] }).resources[0]!;
  const retrieve = async (): Promise<RetrievedToken> => (await kp.getImportToken({ bluemixInstance })).result as unknown as RetrievedToken;

  before(async () => {
    region = await startRegionServers([REGION], kpRegionConfig());
    kp = kpClient(region.endpoint(REGION), KP_APIKEYS.admin);
  });
  after(async () => {
    await region.stopAll();
  });

  it('creates an import token and retrieves its public key and nonce, counting retrievals as IBM shows them', async () => {
    await rejectsWith(kp.getImportToken({ bluemixInstance }), 404, 'NOT_FOUND_ERR');
    const created = await kp.postImportToken({ bluemixInstance, expiration: 900, maxAllowedRetrievals: 2 });
    assert.equal(created.status, 200);
    const token = created.result as unknown as RetrievedToken;
    assert.deepEqual(Object.keys(token).sort(), ['creationDate', 'expirationDate', 'maxAllowedRetrievals', 'remainingRetrievals']);
    assert.equal(Date.parse(token.expirationDate) - Date.parse(token.creationDate), 900_000);
    const first = await retrieve();
    assert.match(Buffer.from(first.payload, 'base64').toString(), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(Buffer.from(first.nonce, 'base64').length, 12);
    assert.equal(first.remainingRetrievals, 1);
    assert.equal((await retrieve()).remainingRetrievals, 0);
    await rejectsWith(kp.getImportToken({ bluemixInstance }), 409, 'IMPORT_TOKEN_EXPIRED_ERR');
    await rejectsWith(kp.postImportToken({ bluemixInstance, expiration: 60 }), 400, 'BAD_BODY_ERR');
  });

  it('creates a root key from material sealed for the token, usable through both surfaces, and rotates it with new sealed material', async () => {
    await kp.postImportToken({ bluemixInstance, expiration: 3600, maxAllowedRetrievals: 10 });
    const material = randomBytes(32);
    const key = await create({ name: 'byok', extractable: false, ...sealImportEnvelope(material, await retrieve()) });
    assert.equal(key.imported, true);
    assert.equal(key.extractable, false);
    assert.equal(key.state, 1);
    const metadata = (await kp.getKeyMetadata({ id: key.id, bluemixInstance })).result as unknown as { resources: KpKey[] };
    assert.equal(metadata.resources[0]!.imported, true);
    const kms = region.client(REGION);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata!.Origin, 'EXTERNAL');

    const dek = randomBytes(32).toString('base64');
    const wrapped = (await kp.wrapKey({ id: key.id, bluemixInstance, keyActionWrapBody: json({ plaintext: dek }) })).result as unknown as {
      ciphertext: string;
    };
    const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped.ciphertext, 'base64') }));
    assert.equal(Buffer.from(decrypted.Plaintext!).toString('base64'), dek);

    await rejectsWith(kp.rotateKey({ id: key.id, bluemixInstance }), 400, 'KEY_PAYLOAD_REQ_ERR');
    const rotated = await kp.rotateKey({ id: key.id, bluemixInstance, keyActionRotateBody: json(sealImportEnvelope(randomBytes(32), await retrieve())) });
    assert.equal(rotated.status, 204);
    const versions = (await kp.getKeyVersions({ id: key.id, bluemixInstance })).result as unknown as { resources: unknown[] };
    assert.equal(versions.resources.length, 2);
    const unwrapped = (await kp.unwrapKey({ id: key.id, bluemixInstance, keyActionUnwrapBody: json({ ciphertext: wrapped.ciphertext }) }))
      .result as unknown as {
      plaintext: string;
      rewrappedKeyVersion?: unknown;
    };
    assert.equal(unwrapped.plaintext, dek);
    assert.ok(unwrapped.rewrappedKeyVersion);
  });

  it('creates a root key from plain base64 material over TLS, and refuses material for a generated key’s rotation', async () => {
    const key = await create({ name: 'plain-byok', extractable: false, payload: randomBytes(32).toString('base64') });
    assert.equal(key.imported, true);
    assert.equal((await kp.rotateKey({ id: key.id, bluemixInstance, keyActionRotateBody: json({ payload: randomBytes(32).toString('base64') }) })).status, 204);
    const generated = await create({ name: 'generated', extractable: false });
    assert.equal(generated.imported, false);
    await rejectsWith(
      kp.rotateKey({ id: generated.id, bluemixInstance, keyActionRotateBody: json({ payload: randomBytes(32).toString('base64') }) }),
      400,
      'BAD_BODY_ERR',
    );
    await rejectsWith(create({ name: 'short', extractable: false, payload: randomBytes(16).toString('base64') }), 400, 'BAD_BODY_ERR');
  });

  it('refuses a nonce sealed under other material, a wrong IV, and a replayed import, in Key Protect codes', async () => {
    await kp.postImportToken({ bluemixInstance, maxAllowedRetrievals: 3 });
    const token = await retrieve();
    const material = randomBytes(32);
    const envelope = sealImportEnvelope(material, token);
    const otherMaterial = sealImportEnvelope(randomBytes(32), token);
    await rejectsWith(create({ name: 'x', ...envelope, encryptedNonce: otherMaterial.encryptedNonce }), 400, 'INCORRECT_NONCE_IV_ERR');
    await rejectsWith(create({ name: 'x', ...envelope, iv: randomBytes(12).toString('base64') }), 400, 'INCORRECT_NONCE_IV_ERR');
    assert.equal((await create({ name: 'once', ...envelope })).imported, true);
    await rejectsWith(create({ name: 'twice', ...envelope }), 400, 'INCORRECT_NONCE_ERR');
  });
});
