import { Command } from 'commander';
import type { ApiKey } from '../../iam/index.ts';
import { cliAction, mgmtClientFor, withConnection, type ConnectionOptions } from '../region-connection.ts';

/** `concord apikey create|list|revoke`: IBM-style API keys of the account's principals, over the region's /mgmt/v1/apikeys. */
export function apikeyCommand(): Command {
  const apikey = new Command('apikey').description("manage API keys for IBM's SDKs (exchanged for bearer tokens at /identity/token)");
  const action = cliAction('apikey');

  withConnection(apikey.command('create'))
    .description('create an API key for a principal; its secret is shown this once')
    .requiredOption('--principal <arn>', 'the user or role whose permissions its tokens carry')
    .option('--name <name>', 'a name for the key')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (o: ConnectionOptions & { principal: string; name?: string; description?: string }) => {
        const created = await mgmtClientFor(o).call<ApiKey & { apikey: string }>('POST', '/apikeys', {
          principal: o.principal,
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
        });
        process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
        process.stderr.write('Keep the apikey now: it cannot be shown again.\n');
      }),
    );
  withConnection(apikey.command('list'))
    .description('list API keys (never their secrets)')
    .option('--principal <arn>', "only this principal's keys")
    .action(
      action(async (o: ConnectionOptions & { principal?: string }) => {
        const query = o.principal === undefined ? '' : `?principal=${encodeURIComponent(o.principal)}`;
        const { apikeys } = await mgmtClientFor(o).call<{ apikeys: ApiKey[] }>('GET', `/apikeys${query}`);
        process.stdout.write(`${JSON.stringify(apikeys, null, 2)}\n`);
      }),
    );
  withConnection(apikey.command('revoke'))
    .description('revoke an API key: it and every token issued for it stop working at once')
    .argument('<id>', 'the API key ID (ApiKey-…)')
    .action(
      action(async (id: string, o: ConnectionOptions) => {
        const revoked = await mgmtClientFor(o).call<ApiKey>('POST', `/apikeys/${encodeURIComponent(id)}/revoke`);
        process.stdout.write(`${JSON.stringify(revoked, null, 2)}\n`);
      }),
    );
  return apikey;
}
