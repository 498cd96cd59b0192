import { Option, type Command } from 'commander';
import type { KeystoreType } from '../../uko/index.ts';
import { promptPassword } from '../tke/prompt-password.ts';
import { TkeError } from '../tke/tke-error.ts';

/** A connection field of a keystore type, as the API names it; the option is its name with dashes. */
interface ConnectionField {
  type: KeystoreType;
  name: string;
  about: string;
  /** The field is a secret: read from `env`, or from stdin with --secret-stdin, and never printed. */
  env?: string;
}

/** Every connection field of every keystore type: the one table the keystore verbs take their options from. */
const FIELDS: ConnectionField[] = [
  { type: 'aws_kms', name: 'aws_region', about: 'the AWS region of the keystore' },
  { type: 'aws_kms', name: 'aws_access_key_id', about: 'the access key the keystore is reached with (or AWS_ACCESS_KEY_ID)' },
  { type: 'aws_kms', name: 'aws_secret_access_key', about: 'its secret', env: 'AWS_SECRET_ACCESS_KEY' },
  { type: 'aws_kms', name: 'aws_endpoint', about: "the keystore's endpoint, when it is not AWS's own for the region" },
  { type: 'ibm_cloud_kms', name: 'ibm_variant', about: 'key_protect or internal' },
  { type: 'ibm_cloud_kms', name: 'ibm_api_endpoint', about: "the Key Protect instance's endpoint (its /api/v2)" },
  { type: 'ibm_cloud_kms', name: 'ibm_iam_endpoint', about: 'where the API key is exchanged for a token (its /identity/token)' },
  { type: 'ibm_cloud_kms', name: 'ibm_api_key', about: 'the API key the keystore is reached with', env: 'CONCORD_UKO_IBM_API_KEY' },
  { type: 'ibm_cloud_kms', name: 'ibm_instance_id', about: 'the Key Protect instance (bluemix-instance)' },
  { type: 'ibm_cloud_kms', name: 'ibm_key_ring', about: 'the key ring its keys go to (optional)' },
  { type: 'pkcs11', name: 'pkcs11_module', about: "the PKCS#11 library's absolute path, one the region allows" },
  { type: 'pkcs11', name: 'pkcs11_token_label', about: "the token's label" },
  { type: 'pkcs11', name: 'pkcs11_pin', about: "the token's user PIN", env: 'CONCORD_UKO_PKCS11_PIN' },
];

/** The keystore types Concord orchestrates into, for --type choices (the API refuses the others as not supported). */
export const KEYSTORE_TYPES = [...new Set(FIELDS.map((field) => field.type))];

/** Fields given from the environment when no option names them, though they are not secret. */
const PLAIN_ENV: Record<string, string> = { aws_access_key_id: 'AWS_ACCESS_KEY_ID' };

/** commander's property for a field: aws_secret_access_key → awsSecretAccessKey. */
const property = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const flag = (name: string) => `--${name.replace(/_/g, '-')}`;

export type ConnectionOptions = Record<string, unknown> & { secretStdin?: boolean };

/** Adds an option for every connection field of every keystore type, and --secret-stdin. */
export function withConnectionOptions(command: Command): Command {
  for (const field of FIELDS) {
    const about = field.env
      ? `${field.type}: ${field.about}; a secret, better given in ${field.env} or with --secret-stdin than here, where the process list shows it; stored only wrapped, never printed`
      : `${field.type}: ${field.about}`;
    command.addOption(new Option(`${flag(field.name)} <value>`, about));
  }
  return command.option(
    '--secret-stdin',
    "read the keystore type's secret (aws_secret_access_key, ibm_api_key or pkcs11_pin) from stdin, without echo on a terminal",
  );
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
    if (field.env && o.secretStdin === true) {
      if (given !== undefined) throw new TkeError(`Give ${flag(field.name)} or --secret-stdin, not both.`);
      value = await readSecret(field.name);
    }
    const env = field.env ?? PLAIN_ENV[field.name];
    if (value === undefined && fromEnvironment && env !== undefined) value = process.env[env] || undefined;
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
