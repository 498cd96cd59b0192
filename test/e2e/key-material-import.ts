import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ReplicateKeyCommand,
  type AlgorithmSpec,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
  type WrappingKeySpec,
} from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';

/** Wraps key material as AWS documents each wrapping algorithm, with node:crypto only. */
export function wrapKeyMaterial(publicKeyDer: Uint8Array, algorithm: AlgorithmSpec, material: Buffer): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  const oaepHash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const oaep = (data: Buffer) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  if (!algorithm.startsWith('RSA_AES_KEY_WRAP_')) return oaep(material);
  const aesKey = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([oaep(aesKey), kwp.update(material), kwp.final()]);
}

/** GetParametersForImport and the material wrapped for it: the first half of every import. */
export async function prepareImport(
  kms: KMSClient,
  KeyId: string,
  material: Buffer,
  WrappingAlgorithm: AlgorithmSpec = 'RSAES_OAEP_SHA_256',
  WrappingKeySpec: WrappingKeySpec = 'RSA_2048',
) {
  const parameters = await kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm, WrappingKeySpec }));
  return { KeyId, ImportToken: parameters.ImportToken!, EncryptedKeyMaterial: wrapKeyMaterial(parameters.PublicKey!, WrappingAlgorithm, material) };
}

/** A whole import of material that does not expire, unless `extra` says otherwise. */
export async function importKeyMaterial(kms: KMSClient, KeyId: string, material: Buffer, extra: Partial<ImportKeyMaterialCommandInput> = {}) {
  return kms.send(new ImportKeyMaterialCommand({ ...(await prepareImport(kms, KeyId, material)), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra }));
}

export const keyState = async (kms: KMSClient, KeyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.KeyState;

/** A multi-Region primary awaiting imported material, with a replica in `replicaRegion` awaiting its own. */
export async function replicatedExternalKey(primary: KMSClient, replica: KMSClient, replicaRegion: string): Promise<string> {
  const KeyId = (await primary.send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  await primary.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: replicaRegion }));
  await eventually(async () => {
    assert.equal(await keyState(replica, KeyId), 'PendingImport');
  });
  return KeyId;
}
