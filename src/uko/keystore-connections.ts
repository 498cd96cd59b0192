import type { CryptoUnit } from '../cryptounits/index.ts';
import { AwsKmsAdapter } from './aws-kms-adapter.ts';
import { IbmCloudKmsAdapter } from './ibm-cloud-kms-adapter.ts';
import { stringField, type Body } from './fields.ts';
import { KeystoreUnreachableError, type KeystoreAdapter } from './keystore-adapter.ts';
import { Pkcs11Adapter } from './pkcs11-adapter.ts';
import type { KeystoreRecord, KeystoreType } from './records.ts';
import { UkoError } from './uko-error.ts';

/** What the region's configuration lets keystores use. */
export interface KeystoreRules {
  /** The PKCS#11 libraries pkcs11 keystores may name: loading one runs its code in the region's process. */
  pkcs11Modules: readonly string[];
}

/** A keystore type Concord orchestrates into: its connection fields, which of them are secret, and its adapter. */
interface KeystoreKind {
  fields: { name: string; required: boolean; secret?: boolean; max?: number; pattern?: RegExp }[];
  location: (connection: Record<string, string>) => string;
  adapter: (connection: Record<string, string>, rules: KeystoreRules) => KeystoreAdapter;
}

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** IBM's patterns for an ibm_cloud_kms keystore's fields; the endpoints must also be http(s) URLs here. */
const IBM_ENDPOINT = /^https?:\/\/[A-Za-z0-9._~:/-]+$/;

const KINDS: Partial<Record<KeystoreType, KeystoreKind>> = {
  aws_kms: {
    fields: [
      { name: 'aws_region', required: true },
      { name: 'aws_access_key_id', required: true, max: 128 },
      { name: 'aws_secret_access_key', required: true, secret: true, max: 128 },
      { name: 'aws_endpoint', required: false, max: 2048 },
    ],
    location: (connection) => connection.aws_region!,
    adapter: (connection) =>
      new AwsKmsAdapter({
        aws_region: connection.aws_region!,
        aws_access_key_id: connection.aws_access_key_id!,
        aws_secret_access_key: connection.aws_secret_access_key!,
        aws_endpoint: connection.aws_endpoint,
      }),
  },
  ibm_cloud_kms: {
    fields: [
      // IBM's variants; Hyper Protect Crypto Services seals the import nonce with AES-CBC, which this adapter does not.
      { name: 'ibm_variant', required: true, pattern: /^(key_protect|internal)$/ },
      { name: 'ibm_api_endpoint', required: true, max: 512, pattern: IBM_ENDPOINT },
      { name: 'ibm_iam_endpoint', required: true, max: 512, pattern: IBM_ENDPOINT },
      { name: 'ibm_api_key', required: true, secret: true, max: 64, pattern: /^[A-Za-z0-9\-_&.]+$/ },
      { name: 'ibm_instance_id', required: true, max: 256, pattern: /^[A-Za-z0-9-]+$/ },
      { name: 'ibm_key_ring', required: false, max: 100, pattern: /^[a-zA-Z0-9-]{2,}$/ },
    ],
    location: (connection) => connection.ibm_api_endpoint!,
    adapter: (connection) =>
      new IbmCloudKmsAdapter({
        ibm_api_endpoint: connection.ibm_api_endpoint!,
        ibm_iam_endpoint: connection.ibm_iam_endpoint!,
        ibm_api_key: connection.ibm_api_key!,
        ibm_instance_id: connection.ibm_instance_id!,
        ibm_key_ring: connection.ibm_key_ring,
      }),
  },
  pkcs11: {
    fields: [
      { name: 'pkcs11_module', required: true, max: 1024 },
      { name: 'pkcs11_token_label', required: true, max: 32 },
      { name: 'pkcs11_pin', required: true, secret: true, max: 128 },
    ],
    location: (connection) => connection.pkcs11_token_label!,
    adapter: (connection, rules) => {
      if (!rules.pkcs11Modules.includes(connection.pkcs11_module!))
        throw new KeystoreUnreachableError(`the region's configuration no longer allows the PKCS#11 library ${connection.pkcs11_module!}`);
      return new Pkcs11Adapter({
        pkcs11_module: connection.pkcs11_module!,
        pkcs11_token_label: connection.pkcs11_token_label!,
        pkcs11_pin: connection.pkcs11_pin!,
      });
    },
  },
};

export function keystoreKind(type: KeystoreType): KeystoreKind {
  const kind = KINDS[type];
  if (!kind)
    throw new UkoError('unsupported', 'keystore_type_not_supported', `Keystores of type ${type} are not supported by this orchestrator`, {
      type: 'field',
      name: 'type',
    });
  return kind;
}

const secretAad = (keystoreId: string, field: string) => Buffer.from(`uko-keystore:${keystoreId}:${field}`);

/**
 * Reads a keystore type's connection fields from a creation or update request: the plain ones
 * as they are, the secret ones wrapped under the region's master key, bound to keystore and field.
 * On update, fields not given keep their stored values.
 */
export async function readConnection(
  unit: CryptoUnit,
  keystoreId: string,
  type: KeystoreType,
  body: Body,
  rules: KeystoreRules,
  stored?: Pick<KeystoreRecord, 'connection' | 'secrets'>,
): Promise<Pick<KeystoreRecord, 'connection' | 'secrets' | 'location'>> {
  const kind = keystoreKind(type);
  const connection = { ...stored?.connection };
  const secrets = { ...stored?.secrets };
  for (const field of kind.fields) {
    const value = stringField(body, field.name, {
      required: field.required && !stored,
      max: field.max ?? 64,
      ...(field.pattern ? { pattern: field.pattern } : {}),
    });
    if (value === undefined) continue;
    if (field.name === 'aws_region' && !AWS_REGION.test(value))
      throw new UkoError('invalid', 'invalid_field', 'The aws_region field is not an AWS region name', { type: 'field', name: field.name });
    if (field.name === 'pkcs11_module' && !rules.pkcs11Modules.includes(value))
      throw new UkoError(
        'invalid',
        'pkcs11_module_not_allowed',
        "The pkcs11_module field must name one of the PKCS#11 libraries the region's configuration allows (uko.pkcs11Modules)",
        { type: 'field', name: field.name },
      );
    if (field.name === 'aws_endpoint' && !/^https?:\/\/[^\s]+$/.test(value)) {
      throw new UkoError('invalid', 'invalid_field', 'The aws_endpoint field must be an http or https URL', { type: 'field', name: field.name });
    }
    if (field.secret) secrets[field.name] = (await unit.wrap(Buffer.from(value), secretAad(keystoreId, field.name))).toString('base64');
    else connection[field.name] = value;
  }
  return { connection, secrets, location: kind.location(connection) };
}

/** The adapter of a stored keystore, its secrets unwrapped for this use only. */
export async function adapterOf(unit: CryptoUnit, keystore: KeystoreRecord, rules: KeystoreRules): Promise<KeystoreAdapter> {
  const connection = { ...keystore.connection };
  for (const [field, wrapped] of Object.entries(keystore.secrets)) {
    connection[field] = (await unit.unwrap(Buffer.from(wrapped, 'base64'), secretAad(keystore.id, field))).toString();
  }
  return keystoreKind(keystore.type).adapter(connection, rules);
}

/** For a master key rotation: a keystore's secrets re-wrapped as they were bound. */
export async function rewrapKeystoreSecrets(value: string, reseal: (wrapped: Buffer, aad: Buffer) => Promise<Buffer>): Promise<string> {
  const keystore = JSON.parse(value) as KeystoreRecord;
  const secrets: Record<string, string> = {};
  for (const [field, wrapped] of Object.entries(keystore.secrets)) {
    secrets[field] = (await reseal(Buffer.from(wrapped, 'base64'), secretAad(keystore.id, field))).toString('base64');
  }
  return JSON.stringify({ ...keystore, secrets });
}
