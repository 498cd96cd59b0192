import { Command } from 'commander';
import { TkeError } from '../tke/tke-error.ts';
import { cliAction, mgmtClientFor, withConnection, type ConnectionOptions } from '../region-connection.ts';

interface Instance {
  id: string;
  crn: string;
  region: string;
  account: string;
}

/** `concord instance list`: the Key Protect instances of a region (bluemix-instance values). */
export function instanceCommand(): Command {
  const instance = new Command('instance').description('Key Protect instances (the key space of the account in a region)');
  withConnection(instance.command('list'))
    .description("list the region's Key Protect instances")
    .action(
      cliAction('instance')(async (o: ConnectionOptions) => {
        const { instances } = await mgmtClientFor(o).call<{ instances: Instance[] }>('GET', '/instances');
        process.stdout.write(`${JSON.stringify(instances, null, 2)}\n`);
      }),
    );
  return instance;
}

/** `concord kp sync KEY`: Key Protect's actions/sync, with a bearer token for an API key. */
export function kpCommand(): Command {
  const kp = new Command('kp').description('Key Protect actions');
  kp.command('sync')
    .description('renotify the resources registered against a root key of its current state and versions')
    .argument('<key>', 'the root key ID')
    .requiredOption('--endpoint <url>', 'the region')
    .option('--apikey <key>', 'API key (or CONCORD_API_KEY)')
    .requiredOption('--instance <id>', 'the instance (concord instance list)')
    .action(
      cliAction('kp')(async (key: string, o: { endpoint: string; apikey?: string; instance: string }) => {
        const apikey = o.apikey ?? process.env.CONCORD_API_KEY;
        if (!apikey) throw new TkeError('Give an API key with --apikey or CONCORD_API_KEY.');
        const token = await fetchJson(`${o.endpoint}/identity/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey }).toString(),
        });
        const accessToken = (token as { access_token: string }).access_token;
        await fetchJson(`${o.endpoint}/api/v2/keys/${encodeURIComponent(key)}/actions/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'bluemix-instance': o.instance },
        });
        process.stdout.write(`Resources registered against ${key} will be renotified.\n`);
      }),
    );
  return kp;
}

async function fetchJson(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new TkeError(`Cannot reach ${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const body = (text ? JSON.parse(text) : {}) as { errorMessage?: string; resources?: { reasons?: { code?: string; message?: string }[] }[] };
    const reason = body.resources?.[0]?.reasons?.[0];
    throw new TkeError(reason ? `${reason.code ?? ''}: ${reason.message ?? ''}` : (body.errorMessage ?? `HTTP ${response.status}`));
  }
  return text ? (JSON.parse(text) as unknown) : {};
}
