import type { Command } from 'commander';
import { MgmtClient } from './tke/mgmt-client.ts';
import { TkeError } from './tke/tke-error.ts';

export interface ConnectionOptions {
  endpoint: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Adds the options naming a region and the access key its management API is signed with. */
export const withConnection = (command: Command): Command =>
  command
    .requiredOption('--endpoint <url>', 'the region')
    .option('--access-key-id <id>', 'access key of the region (or AWS_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'its secret (or AWS_SECRET_ACCESS_KEY)');

/** The region's management API (/mgmt/v1), signed with the given access key or the environment's. */
export function mgmtClientFor(o: ConnectionOptions): MgmtClient {
  const accessKeyId = o.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = o.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new TkeError('Give an access key with --access-key-id and --secret-access-key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.');
  return new MgmtClient(o.endpoint, { accessKeyId, secretAccessKey });
}

/** A command's action whose refusals (TkeError) are printed as `concord <name>: …` with exit code 1. */
export const cliAction =
  (name: string) =>
  <A extends unknown[]>(work: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    try {
      await work(...args);
    } catch (error) {
      if (!(error instanceof TkeError)) throw error;
      process.stderr.write(`concord ${name}: ${error.message}\n`);
      process.exitCode = 1;
    }
  };
