import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { SqliteStore } from '../../store/index.ts';
import type { KeyService, KmsApi, OperationName } from '../index.ts';
import { DAY_MS, TEST_ACCOUNT, testKeyService } from '../test-key-service.ts';

const caller = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:root` };

describe('imported key material over time', () => {
  let store: SqliteStore;
  let service: KeyService;
  let clock = Date.UTC(2030, 0, 1);
  const call = <Op extends OperationName>(operation: Op, input: KmsApi[Op]['input'] = {}) => service.call(operation, input, caller);
  const keyState = async (KeyId: string): Promise<string> => ((await call('DescribeKey', { KeyId })).KeyMetadata as { KeyState: string }).KeyState;
  const createExternalKey = async (): Promise<string> => ((await call('CreateKey', { Origin: 'EXTERNAL' })).KeyMetadata as { KeyId: string }).KeyId;

  /** GetParametersForImport, then the material wrapped as a client would with RSAES_OAEP_SHA_256. */
  const wrapForImport = async (KeyId: string, material: Buffer) => {
    const parameters = await call('GetParametersForImport', { KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
    const publicKey = createPublicKey({ key: parameters.PublicKey as Buffer, format: 'der', type: 'spki' });
    return {
      ImportToken: parameters.ImportToken as Buffer,
      EncryptedKeyMaterial: publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material),
    };
  };

  before(() => {
    ({ store, service } = testKeyService('import', { now: () => clock }));
  });
  after(async () => {
    await store.close();
  });

  it('deletes material when its ValidTo passes, and the same material brings the key back', async () => {
    const KeyId = await createExternalKey();
    const material = randomBytes(32);
    const validTo = clock + 10 * DAY_MS;
    await call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, material)), ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo / 1000 });
    assert.equal(((await call('DescribeKey', { KeyId })).KeyMetadata as { ValidTo: number }).ValidTo, validTo / 1000);
    const { CiphertextBlob } = await call('Encrypt', { KeyId, Plaintext: Buffer.from('before expiry') });

    clock = validTo - 1;
    assert.equal(await service.expireImportedMaterial(), 0);
    assert.equal(await keyState(KeyId), 'Enabled');

    clock = validTo;
    assert.equal(await service.expireImportedMaterial(), 1);
    assert.equal(await keyState(KeyId), 'PendingImport');
    await assert.rejects(call('Decrypt', { CiphertextBlob }), { name: 'KMSInvalidStateException' });
    const [listed] = (await call('ListKeyRotations', { KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations as { ImportState: string }[];
    assert.equal(listed?.ImportState, 'PENDING_IMPORT');
    assert.equal((await store.list('expiry/')).filter((entry) => entry.value === KeyId).length, 0);

    await assert.rejects(
      call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, randomBytes(32))), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
      {
        name: 'IncorrectKeyMaterialException',
      },
    );
    await call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, material)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    assert.equal(await keyState(KeyId), 'Enabled');
    assert.equal(((await call('Decrypt', { CiphertextBlob })).Plaintext as Buffer).toString(), 'before expiry');
    clock += 400 * DAY_MS;
    assert.equal(await service.expireImportedMaterial(), 0, 'material that does not expire stays');
    assert.equal(await keyState(KeyId), 'Enabled');
  });

  it('leaves a key pending deletion in that state when its material expires', async () => {
    const KeyId = await createExternalKey();
    const validTo = clock + DAY_MS;
    await call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, randomBytes(32))), ValidTo: validTo / 1000 });
    await call('ScheduleKeyDeletion', { KeyId, PendingWindowInDays: 7 });
    clock = validTo;
    assert.equal(await service.expireImportedMaterial(), 1);
    assert.equal(await keyState(KeyId), 'PendingDeletion');
  });

  it('refuses an import token once its 24 hours have passed and then forgets its wrapping key', async () => {
    const KeyId = await createExternalKey();
    const issuedAt = clock;
    const wrapped = await wrapForImport(KeyId, randomBytes(32));
    const parametersValidTo = issuedAt + DAY_MS;
    clock = parametersValidTo;
    await assert.rejects(call('ImportKeyMaterial', { KeyId, ...wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }), {
      name: 'ExpiredImportTokenException',
    });
    const stored = async () => (await store.list('import/')).filter((entry) => entry.key.includes(KeyId)).length;
    assert.equal(await stored(), 1);
    await service.expireImportedMaterial();
    assert.equal(await stored(), 0);
  });

  it('accepts ValidTo up to 365 days ahead and no further', async () => {
    const KeyId = await createExternalKey();
    await assert.rejects(
      call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, randomBytes(32))), ValidTo: (clock + 365 * DAY_MS + 1000) / 1000 }),
      {
        name: 'ValidationException',
      },
    );
    await call('ImportKeyMaterial', { KeyId, ...(await wrapForImport(KeyId, randomBytes(32))), ValidTo: (clock + 365 * DAY_MS) / 1000 });
    assert.equal(await keyState(KeyId), 'Enabled');
  });
});

describe('wrapping key pairs shared in a burst of imports', () => {
  const other = { account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/other-importer` };
  const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] };
  let store: SqliteStore;
  let service: KeyService;
  before(() => {
    ({ store, service } = testKeyService('import-replay', { principals: [{ arn: other.arn, identityPolicies: [allowAll] }] }));
  });
  after(async () => {
    await store.close();
  });

  it('refuses material wrapped for one principal imported with an import token of another (wrapped material replay across principals)', async () => {
    const external = async (who: typeof caller) => ((await service.call('CreateKey', { Origin: 'EXTERNAL' }, who)).KeyMetadata as { KeyId: string }).KeyId;
    const parameters = (KeyId: string, who: typeof caller) =>
      service.call('GetParametersForImport', { KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }, who);
    const [mine, theirs] = [await external(caller), await external(other)];
    // In a burst: several tokens at once per principal, so the pool runs dry and pairs are shared.
    const [forMine, forTheirs] = await Promise.all([
      Promise.all([parameters(mine, caller), parameters(mine, caller), parameters(mine, caller)]),
      Promise.all([parameters(theirs, other), parameters(theirs, other), parameters(theirs, other)]),
    ]);
    for (const mineAnswer of forMine) {
      for (const theirAnswer of forTheirs) assert.notDeepEqual(Buffer.from(mineAnswer.PublicKey as Buffer), Buffer.from(theirAnswer.PublicKey as Buffer));
    }
    const publicKey = createPublicKey({ key: forMine[0].PublicKey as Buffer, format: 'der', type: 'spki' });
    const EncryptedKeyMaterial = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    await assert.rejects(
      service.call(
        'ImportKeyMaterial',
        { KeyId: theirs, ImportToken: forTheirs[0].ImportToken!, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
        other,
      ),
    );
    await service.call(
      'ImportKeyMaterial',
      { KeyId: mine, ImportToken: forMine[0].ImportToken!, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
      caller,
    );
  });
});
