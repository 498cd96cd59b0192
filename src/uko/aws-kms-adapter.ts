import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { KeystoreUnreachableError, type CreatedKey, type KeyToCreate, type KeystoreAdapter, type ObservedKey } from './keystore-adapter.ts';

export interface AwsKmsConnection {
  aws_region: string;
  aws_access_key_id: string;
  aws_secret_access_key: string;
  /** Concord's extension: the endpoint URL; absent means AWS's own endpoint for the region. */
  aws_endpoint?: string;
}

/** The tag that links a key in AWS KMS back to the managed key it is a copy of. */
export const MANAGED_KEY_TAG = 'uko-managed-key-id';
/** AWS's shortest waiting period before a scheduled deletion. */
const DELETION_WINDOW_DAYS = 7;
/** How long one call to the keystore may take before the keystore counts as unreachable. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Errors that mean the keystore, not the request, is the problem. */
const UNREACHABLE = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'AccessDeniedException', 'KMSInternalException', 'TimeoutError']);

/**
 * A keystore of type aws_kms: any endpoint speaking the AWS KMS API (AWS itself, another
 * Concord region, Concord itself). Each version of a managed key is one key there, named by the
 * alias alias/uko/<managed key ID>/v<version>. Keys are created with Origin EXTERNAL and their material
 * moved with GetParametersForImport and ImportKeyMaterial, wrapped under the keystore's
 * RSA wrapping key (RSAES_OAEP_SHA_256), so it never crosses the wire in plaintext.
 */
export class AwsKmsAdapter implements KeystoreAdapter {
  private readonly kms: KMSClient;

  constructor(connection: AwsKmsConnection) {
    this.kms = new KMSClient({
      region: connection.aws_region,
      ...(connection.aws_endpoint ? { endpoint: connection.aws_endpoint } : {}),
      credentials: { accessKeyId: connection.aws_access_key_id, secretAccessKey: connection.aws_secret_access_key },
      maxAttempts: 2,
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: REQUEST_TIMEOUT_MS },
    });
  }

  async check(): Promise<void> {
    await this.send(() => this.kms.send(new ListKeysCommand({ Limit: 1 })));
  }

  async describe(keyIdInKeystore: string): Promise<ObservedKey> {
    return (await this.lookUp(keyIdInKeystore))?.observed ?? 'absent';
  }

  /** A key's ID and state, by its ID or an alias of it; undefined when the keystore has neither. */
  private async lookUp(keyIdOrAlias: string): Promise<CreatedKey | undefined> {
    try {
      const { KeyMetadata } = await this.send(() => this.kms.send(new DescribeKeyCommand({ KeyId: keyIdOrAlias })));
      return { keyIdInKeystore: KeyMetadata!.KeyId!, observed: observedOf(KeyMetadata?.KeyState) };
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return undefined;
      throw error;
    }
  }

  async create(key: KeyToCreate): Promise<CreatedKey> {
    const alias = `alias/uko/${key.managedKeyId}/v${key.version}`;
    const linked = await this.lookUp(alias);
    if (linked) {
      if (linked.observed !== 'pending_import') return linked;
      await this.importMaterial(linked.keyIdInKeystore, key.material);
      return { keyIdInKeystore: linked.keyIdInKeystore };
    }
    const { KeyMetadata } = await this.send(() =>
      this.kms.send(
        new CreateKeyCommand({
          Origin: 'EXTERNAL',
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Description: key.description || key.label,
          Tags: [
            { TagKey: MANAGED_KEY_TAG, TagValue: key.managedKeyId },
            { TagKey: 'uko-label', TagValue: key.label },
          ],
        }),
      ),
    );
    const keyId = KeyMetadata!.KeyId!;
    // The alias links the key to its managed key before it holds material, so a retry finds it.
    await this.send(() => this.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId })));
    // Material imported into a new key without an expiry leaves it Enabled (AWS KMS's key states).
    await this.importMaterial(keyId, key.material);
    return { keyIdInKeystore: keyId, observed: 'enabled' };
  }

  async importMaterial(keyIdInKeystore: string, material: Buffer): Promise<void> {
    const parameters = await this.send(() =>
      this.kms.send(new GetParametersForImportCommand({ KeyId: keyIdInKeystore, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })),
    );
    const wrappingKey = createPublicKey({ key: Buffer.from(parameters.PublicKey!), format: 'der', type: 'spki' });
    const EncryptedKeyMaterial = publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
    await this.send(() =>
      this.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyIdInKeystore,
          ImportToken: parameters.ImportToken,
          EncryptedKeyMaterial,
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      ),
    );
  }

  async enable(keyIdInKeystore: string): Promise<void> {
    await this.send(() => this.kms.send(new EnableKeyCommand({ KeyId: keyIdInKeystore })));
  }

  async disable(keyIdInKeystore: string): Promise<void> {
    await this.send(() => this.kms.send(new DisableKeyCommand({ KeyId: keyIdInKeystore })));
  }

  async scheduleDeletion(keyIdInKeystore: string): Promise<void> {
    await this.send(() => this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyIdInKeystore, PendingWindowInDays: DELETION_WINDOW_DAYS })));
  }

  async cancelDeletion(keyIdInKeystore: string): Promise<void> {
    await this.send(() => this.kms.send(new CancelKeyDeletionCommand({ KeyId: keyIdInKeystore })));
  }

  /** Tells a keystore that cannot be reached, or refuses the credentials, from a refused request. */
  private async send<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const name = (error as Error).name;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (UNREACHABLE.has(name) || status === undefined || status >= 500) {
        throw new KeystoreUnreachableError(`the AWS KMS keystore cannot be reached or refuses the credentials: ${name}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

/** What an AWS KMS key state means for the orchestrator. */
function observedOf(state: string | undefined): ObservedKey {
  switch (state) {
    case 'Enabled':
      return 'enabled';
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      return 'pending_deletion';
    case 'PendingImport':
      return 'pending_import';
    default:
      return 'disabled';
  }
}
