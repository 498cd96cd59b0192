import { Option, type Command } from 'commander';
import type { KeystoreType } from '../../uko/index.ts';
import { promptPassword } from '../tke/prompt-password.ts';
import { TkeError } from '../tke/tke-error.ts';

/** A connection field of a keystore type, as the API names it; the option is its name with dashes. */
interface ConnectionField {
  type: KeystoreType;
  name: string;
  about: string;
  /** The environment variable create reads the field from when no option gives it. */
  env?: string;
  /** Also read from stdin with --secret-stdin, and never printed. */
  secret?: true;
}

/** Every connection field of every keystore type: the one table the keystore verbs take their options from. */
const FIELDS: ConnectionField[] = [
  { type: 'aws_kms', name: 'aws_region', about: 'the AWS region of the keystore' },
  { type: 'aws_kms', name: 'aws_access_key_id', about: 'the access key the keystore is reached with', env: 'AWS_ACCESS_KEY_ID' },
  { type: 'aws_kms', name: 'aws_secret_access_key', about: "that access key's secret", env: 'AWS_SECRET_ACCESS_KEY', secret: true },
  { type: 'aws_kms', name: 'aws_endpoint', about: "the keystore's endpoint, when it is not AWS's own for the region" },
  { type: 'ibm_cloud_kms', name: 'ibm_variant', about: 'key_protect or internal' },
  { type: 'ibm_cloud_kms', name: 'ibm_api_endpoint', about: "the Key Protect instance's endpoint (its /api/v2)" },
  { type: 'ibm_cloud_kms', name: 'ibm_iam_endpoint', about: 'where the API key is exchanged for a token (its /identity/token)' },
  { type: 'ibm_cloud_kms', name: 'ibm_api_key', about: 'the API key the keystore is reached with', env: 'CONCORD_UKO_IBM_API_KEY', secret: true },
  { type: 'ibm_cloud_kms', name: 'ibm_instance_id', about: 'the Key Protect instance (bluemix-instance)' },
  { type: 'ibm_cloud_kms', name: 'ibm_key_ring', about: 'the key ring its keys go to (optional)' },
  { type: 'pkcs11', name: 'pkcs11_module', about: "the PKCS#11 library's absolute path, one the region allows" },
  { type: 'pkcs11', name: 'pkcs11_token_label', about: "the token's label" },
  { type: 'pkcs11', name: 'pkcs11_pin', about: "the token's user PIN", env: 'CONCORD_UKO_PKCS11_PIN', secret: true },
];

/** The keystore types Concord orchestrates into, for --type choices (the API refuses the others as not supported). */
export const KEYSTORE_TYPES = [...new Set(FIELDS.map((field) => field.type))];

/** commander's property for a field: aws_secret_access_key → awsSecretAccessKey. */
const property = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const flag = (name: string) => `--${name.replace(/_/g, '-')}`;

export type ConnectionOptions = Record<string, unknown> & { secretStdin?: boolean };

/**
 * Adds an option for every connection field of every keystore type, and --secret-stdin. With
 * `fromEnvironment` (create), a field not given is read from its environment variable; update does
 * not read them, so a variable set for another reason never replaces a stored secret.
 */
export function withConnectionOptions(command: Command, fromEnvironment: boolean): Command {
  for (const field of FIELDS) {
    const env = fromEnvironment && field.env !== undefined ? field.env : undefined;
    const about = field.secret
      ? `${field.about} (secret: better given ${env !== undefined ? `in ${env} or ` : ''}with --secret-stdin than here, where the process list shows it; stored only wrapped, never printed)`
      : `${field.about}${env !== undefined ? ` (or ${env})` : ''}`;
    command.addOption(new Option(`${flag(field.name)} <value>`, `${field.type}: ${about}`));
  }
  const secrets = FIELDS.filter((field) => field.secret)
    .map((field) => field.name)
    .join(', ');
  return command.option('--secret-stdin', `read the keystore type's secret (${secrets}) from stdin's first line, asked for without echo on a terminal`);
}

/**
 * The API's connection fields of a keystore of `type` from the options: a field of another type is
 * refused, and the type's secret comes from its option, stdin (--secret-stdin) or its environment
 * variable. `fromEnvironment` is false on update, where a field not given keeps its stored value.
 */
export async function connectionFields(type: string, o: ConnectionOptions, fromEnvironment: boolean): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  for (const field of FIELDS) {
    const given = o[property(field.name)] as string | undefined;
    if (field.type !== type) {
      if (given !== undefined) throw new TkeError(`${flag(field.name)} is a field of ${field.type} keystores, not of ${type} ones.`);
      continue;
    }
    let value = given;
    if (field.secret && o.secretStdin === true) {
      if (given !== undefined) throw new TkeError(`Give ${flag(field.name)} or --secret-stdin, not both.`);
      value = await readSecret(field.name);
    }
    if (value === undefined && fromEnvironment && field.env !== undefined) value = process.env[field.env] || undefined;
    if (value !== undefined) fields[field.name] = value;
  }
  return fields;
}

/** A secret from stdin: asked for without echo on a terminal, else stdin's first line. */
async function readSecret(name: string): Promise<string> {
  if (process.stdin.isTTY) return promptPassword(`${name}: `);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const [line] = Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1);
  if (!line) throw new TkeError(`--secret-stdin: stdin holds no ${name}.`);
  return line;
}
