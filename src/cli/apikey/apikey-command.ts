import { Command } from 'commander';
import type { ApiKey } from '../../iam/index.ts';
import { MgmtClient } from '../tke/mgmt-client.ts';
import { TkeError } from '../tke/tke-error.ts';

interface ConnectionOptions {
  endpoint: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** `concord apikey create|list|revoke`: IBM-style API keys of the account's principals, over the region's /mgmt/v1/apikeys. */
export function apikeyCommand(): Command {
  const apikey = new Command('apikey').description("manage API keys for IBM's SDKs (exchanged for bearer tokens at /identity/token)");
  const connected = (command: Command): Command =>
    command
      .requiredOption('--endpoint <url>', 'the region')
      .option('--access-key-id <id>', 'access key of the region (or AWS_ACCESS_KEY_ID)')
      .option('--secret-access-key <secret>', 'its secret (or AWS_SECRET_ACCESS_KEY)');
  const client = (o: ConnectionOptions): MgmtClient => {
    const accessKeyId = o.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = o.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey)
      throw new TkeError('Give an access key with --access-key-id and --secret-access-key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.');
    return new MgmtClient(o.endpoint, { accessKeyId, secretAccessKey });
  };
  const action =
    <A extends unknown[]>(work: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await work(...args);
      } catch (error) {
        if (!(error instanceof TkeError)) throw error;
        process.stderr.write(`concord apikey: ${error.message}\n`);
        process.exitCode = 1;
      }
    };

  connected(apikey.command('create'))
    .description('create an API key for a principal; its secret is shown this once')
    .requiredOption('--principal <arn>', 'the user or role whose permissions its tokens carry')
    .option('--name <name>', 'a name for the key')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (o: ConnectionOptions & { principal: string; name?: string; description?: string }) => {
        const created = await client(o).call<ApiKey & { apikey: string }>('POST', '/apikeys', {
          principal: o.principal,
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
        });
        process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        process.stderr.write('Keep the apikey now: it cannot be shown again.\n');
      }),
    );
  connected(apikey.command('list'))
    .description('list API keys (never their secrets)')
    .option('--principal <arn>', "only this principal's keys")
    .action(
      action(async (o: ConnectionOptions & { principal?: string }) => {
        const query = o.principal === undefined ? '' : `?principal=${encodeURIComponent(o.principal)}`;
        const { apikeys } = await client(o).call<{ apikeys: ApiKey[] }>('GET', `/apikeys${query}`);
        process.stdout.write(`${JSON.stringify(apikeys, null, 2)}\n`);
      }),
    );
  connected(apikey.command('revoke'))
    .description('revoke an API key: it and every token issued for it stop working at once')
    .argument('<id>', 'the API key ID (ApiKey-…)')
    .action(
      action(async (id: string, o: ConnectionOptions) => {
        const revoked = await client(o).call<ApiKey>('POST', `/apikeys/${encodeURIComponent(id)}/revoke`);
        process.stdout.write(`${JSON.stringify(revoked, null, 2)}\n`);
      }),
    );
  return apikey;
}
