import { Command, Option } from 'commander';
import { ProgressBar } from '../progress-bar.ts';
import { cliAction } from '../region-connection.ts';
import { TkeError } from '../tke/tke-error.ts';
import { connectionFields, KEYSTORE_TYPES, withConnectionOptions, type ConnectionOptions } from './keystore-options.ts';
import { UkoClient } from './uko-client.ts';
import { allInSync, statusTable, ukoTable, type KeyStatus, type StatusInKeystore } from './uko-table.ts';

interface UkoOptions {
  endpoint: string;
  apiKey?: string;
  json?: boolean;
}

interface Vault {
  id: string;
  name: string;
  keys_count: number;
  key_templates_count: number;
  keystores_count: number;
}
interface Keystore {
  id: string;
  name: string;
  type: string;
  groups: string[];
  vault: { id: string };
}
interface Template {
  id: string;
  name: string;
  state: string;
  keys_count: number;
  key: { algorithm: string; size: string };
  keystores: { group: string; type: string }[];
}
interface ManagedKey {
  id: string;
  label: string;
  state: string;
  algorithm: string;
  size: string;
  template: { name: string };
  status_in_keystores: StatusInKeystore[];
}

/** How many managed keys `verify --all` and `sync --all` work on at once: each waits mostly on the keystores. */
const PARALLEL = 4;
const PAGE = 1000;

const withUko = (command: Command): Command =>
  command
    .requiredOption('--endpoint <url>', 'the region')
    .option('--api-key <key>', 'API key exchanged for a bearer token at /identity/token (or CONCORD_API_KEY)')
    .option('--json', "print the API's JSON instead of a table");

function clientFor(o: UkoOptions): UkoClient {
  const apikey = o.apiKey ?? process.env.CONCORD_API_KEY;
  if (!apikey) throw new TkeError('Give an API key with --api-key or CONCORD_API_KEY (concord apikey create; concord dev prints one).');
  return new UkoClient(o.endpoint.replace(/\/+$/, ''), apikey);
}

const id = (value: string) => encodeURIComponent(value);

/** Every item of a list, page after page. */
async function listAll<T>(client: UkoClient, path: string, items: string, filters: Record<string, string | undefined>): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const query = new URLSearchParams({ limit: String(PAGE), offset: String(all.length) });
    for (const [name, value] of Object.entries(filters)) if (value !== undefined) query.set(name, value);
    const { json } = await client.call<Record<string, unknown> & { total_count: number }>('GET', `${path}?${query.toString()}`);
    const page = json[items] as T[];
    all.push(...page);
    if (page.length === 0 || all.length >= json.total_count) return all;
  }
}

/** The API's JSON with --json, else the table a person reads. */
const print = (o: UkoOptions, json: unknown, table: () => string) => {
  process.stdout.write(o.json === true ? `${JSON.stringify(json, null, 2)}\n` : table());
};

const vaultTable = (vaults: Vault[]) =>
  ukoTable(
    ['ID', 'NAME', 'KEYS', 'TEMPLATES', 'KEYSTORES'],
    vaults.map((v) => [v.id, v.name, String(v.keys_count), String(v.key_templates_count), String(v.keystores_count)]),
  );
const keystoreTable = (keystores: Keystore[]) =>
  ukoTable(
    ['ID', 'NAME', 'TYPE', 'GROUPS', 'VAULT'],
    keystores.map((k) => [k.id, k.name, k.type, k.groups.join(','), k.vault.id]),
  );
const templateTable = (templates: Template[]) =>
  ukoTable(
    ['ID', 'NAME', 'STATE', 'ALGORITHM', 'SIZE', 'KEYSTORES', 'KEYS'],
    templates.map((t) => [t.id, t.name, t.state, t.key.algorithm, t.key.size, t.keystores.map((k) => `${k.group}/${k.type}`).join(','), String(t.keys_count)]),
  );
const keyTable = (keys: ManagedKey[]) =>
  ukoTable(
    ['ID', 'LABEL', 'STATE', 'ALGORITHM', 'SIZE', 'TEMPLATE', 'KEYSTORES IN SYNC'],
    keys.map((k) => [
      k.id,
      k.label,
      k.state,
      k.algorithm,
      k.size,
      k.template.name,
      `${k.status_in_keystores.filter((s) => s.keystore_sync_flag === 'ok').length}/${k.status_in_keystores.length}`,
    ]),
  );
/** One managed key: its row, then its status in each keystore. */
const oneKey = (key: ManagedKey) => `${keyTable([key])}\n${statusTable([statusOf(key, key.status_in_keystores)])}`;
const statusOf = (key: ManagedKey, statusInKeystores: StatusInKeystore[]): KeyStatus => ({
  managed_key: { id: key.id, label: key.label },
  status_in_keystores: statusInKeystores,
});

/** `concord uko`: vaults, keystores, key templates and managed keys of a region's UKO v4 API, and verify sync / sync. */
export function ukoCommand(): Command {
  const uko = new Command('uko').description("Unified Key Orchestrator (UKO v4, /api/v4): managed keys orchestrated into keystores, with IBM's API key");
  const action = cliAction('uko');

  const vault = uko.command('vault').description('vaults: what holds keystores, templates and managed keys');
  withUko(vault.command('list'))
    .description('list the vaults')
    .action(
      action(async (o: UkoOptions) => {
        const vaults = await listAll<Vault>(clientFor(o), '/vaults', 'vaults', {});
        print(o, vaults, () => vaultTable(vaults));
      }),
    );
  withUko(vault.command('create'))
    .description('create a vault')
    .requiredOption('--name <name>', 'its name')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (o: UkoOptions & { name: string; description?: string }) => {
        const { json } = await clientFor(o).call<Vault>('POST', '/vaults', { body: { name: o.name, description: o.description ?? '' } });
        print(o, json, () => vaultTable([json]));
      }),
    );

  const keystore = uko.command('keystore').description('keystores: the key management services managed keys are copied into');
  withUko(keystore.command('list'))
    .description('list the keystores')
    .option('--vault <id>', "only this vault's")
    .action(
      action(async (o: UkoOptions & { vault?: string }) => {
        const keystores = await listAll<Keystore>(clientFor(o), '/keystores', 'keystores', { 'vault.id': o.vault });
        print(o, keystores, () => keystoreTable(keystores));
      }),
    );
  withConnectionOptions(
    withUko(keystore.command('create'))
      .description(
        'create a keystore: aws_kms (AWS KMS, or any AWS-KMS-compatible endpoint such as another Concord region), ibm_cloud_kms (a Key Protect instance) or pkcs11 (a PKCS#11 token)',
      )
      .requiredOption('--vault <id>', 'the vault')
      .requiredOption('--name <name>', 'its name')
      .requiredOption('--group <group...>', 'the keystore groups templates name it by')
      .addOption(new Option('--type <type>', 'keystore type; take the options of its fields').choices(KEYSTORE_TYPES).default('aws_kms'))
      .option('--description <text>', 'what it is for')
      .option('--dry-run', 'only test the connection; create nothing'),
    true,
  ).action(
    action(
      async (o: UkoOptions & ConnectionOptions & { vault: string; name: string; group: string[]; type: string; description?: string; dryRun?: boolean }) => {
        const body = {
          type: o.type,
          vault: { id: o.vault },
          name: o.name,
          description: o.description ?? '',
          groups: o.group,
          ...(await connectionFields(o.type, o, true)),
        };
        const { json } = await clientFor(o).call<Keystore>('POST', `/keystores${o.dryRun === true ? '?dry_run=true' : ''}`, { body });
        if (o.dryRun === true && o.json !== true) process.stdout.write(`The keystore answers with these connection details; nothing was created.\n`);
        else print(o, json, () => keystoreTable([json]));
      },
    ),
  );
  withConnectionOptions(
    withUko(keystore.command('update'))
      .description("change a keystore's name, description, groups or connection fields (those of its type); what is not given stays")
      .argument('<id>', 'the keystore ID')
      .option('--name <name>', 'its name')
      .option('--group <group...>', 'the keystore groups templates name it by (replacing its groups)')
      .option('--description <text>', 'what it is for'),
    false,
  ).action(
    action(async (keystoreId: string, o: UkoOptions & ConnectionOptions & { name?: string; group?: string[]; description?: string }) => {
      const client = clientFor(o);
      const path = `/keystores/${id(keystoreId)}`;
      const current = await client.call<Keystore>('GET', path);
      const body = {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.group !== undefined ? { groups: o.group } : {}),
        ...(await connectionFields(current.json.type, o, false)),
      };
      const { json } = await client.call<Keystore>('PATCH', path, { body, ...(current.etag !== undefined ? { ifMatch: current.etag } : {}) });
      print(o, json, () => keystoreTable([json]));
    }),
  );
  withUko(keystore.command('get'))
    .description('show a keystore (never its secrets)')
    .argument('<id>', 'the keystore ID')
    .action(
      action(async (keystoreId: string, o: UkoOptions) => {
        const { json } = await clientFor(o).call<Keystore>('GET', `/keystores/${id(keystoreId)}`);
        print(o, json, () => keystoreTable([json]));
      }),
    );
  withUko(keystore.command('status'))
    .description('reach the keystore now and show its health')
    .argument('<id>', 'the keystore ID')
    .action(
      action(async (keystoreId: string, o: UkoOptions) => {
        const { json } = await clientFor(o).call<{ health_status: string; last_heartbeat?: string; message?: string }>(
          'GET',
          `/keystores/${id(keystoreId)}/status`,
        );
        print(o, json, () => ukoTable(['HEALTH', 'LAST HEARTBEAT', 'MESSAGE'], [[json.health_status, json.last_heartbeat ?? '', json.message ?? '']]));
      }),
    );

  const template = uko.command('template').description('key templates: what managed keys are made from, and which keystore groups they go to');
  withUko(template.command('list'))
    .description('list the key templates')
    .option('--vault <id>', "only this vault's")
    .action(
      action(async (o: UkoOptions & { vault?: string }) => {
        const templates = await listAll<Template>(clientFor(o), '/templates', 'templates', { 'vault.id': o.vault });
        print(o, templates, () => templateTable(templates));
      }),
    );
  withUko(template.command('create'))
    .description('create a key template')
    .requiredOption('--vault <id>', 'the vault')
    .requiredOption('--name <name>', 'its name, by which managed keys are created')
    .requiredOption('--group <group...>', 'the keystore groups its keys go to')
    .addOption(new Option('--keystore-type <type>', 'the type of those keystores').choices(KEYSTORE_TYPES).default('aws_kms'))
    .option('--algorithm <algorithm>', 'key algorithm', 'aes')
    .option('--size <bits>', 'key size', '256')
    .addOption(new Option('--state <state>', 'state of a new key').choices(['pre_activation', 'active']).default('pre_activation'))
    .option('--naming-scheme <scheme>', 'how keys are named in keystores')
    .option('--description <text>', 'what it is for')
    .action(
      action(
        async (
          o: UkoOptions & {
            vault: string;
            name: string;
            group: string[];
            keystoreType: string;
            algorithm: string;
            size: string;
            state: string;
            namingScheme?: string;
            description?: string;
          },
        ) => {
          const body = {
            vault: { id: o.vault },
            name: o.name,
            key: { algorithm: o.algorithm, size: o.size, state: o.state },
            keystores: o.group.map((group) => ({ group, type: o.keystoreType })),
            ...(o.namingScheme !== undefined ? { naming_scheme: o.namingScheme } : {}),
            ...(o.description !== undefined ? { description: o.description } : {}),
          };
          const { json } = await clientFor(o).call<Template>('POST', '/templates', { body });
          print(o, json, () => templateTable([json]));
        },
      ),
    );
  withUko(template.command('archive'))
    .description('archive a key template: it makes no new managed keys')
    .argument('<id>', 'the template ID')
    .action(
      action(async (templateId: string, o: UkoOptions) => {
        const path = `/templates/${id(templateId)}`;
        const { json } = await clientFor(o).change<Template>('POST', `${path}/archive`, path);
        print(o, json, () => templateTable([json]));
      }),
    );

  const key = uko.command('key').alias('managed-key').description('managed keys: keys the orchestrator keeps in line in every keystore of their groups');
  withUko(key.command('list'))
    .description('list the managed keys')
    .option('--vault <id>', "only this vault's")
    .option('--out-of-sync', 'only those a keystore disagrees with')
    .action(
      action(async (o: UkoOptions & { vault?: string; outOfSync?: boolean }) => {
        const keys = await listAll<ManagedKey>(clientFor(o), '/managed_keys', 'managed_keys', {
          'vault.id': o.vault,
          'status_in_keystores[].keystore_sync_flag': o.outOfSync === true ? 'out_of_sync' : undefined,
        });
        print(o, keys, () => keyTable(keys));
      }),
    );
  withUko(key.command('create'))
    .description('create a managed key from a template (pre_activation, unless the template says active)')
    .requiredOption('--vault <id>', 'the vault')
    .requiredOption('--template <name>', 'the template name')
    .requiredOption('--label <label>', 'its label')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (o: UkoOptions & { vault: string; template: string; label: string; description?: string }) => {
        const body = {
          vault: { id: o.vault },
          template_name: o.template,
          label: o.label,
          ...(o.description !== undefined ? { description: o.description } : {}),
        };
        const { json } = await clientFor(o).call<ManagedKey>('POST', '/managed_keys', { body });
        print(o, json, () => oneKey(json));
      }),
    );
  withUko(key.command('get'))
    .description('show a managed key and its status in each keystore (as last verified)')
    .argument('<id>', 'the managed key ID')
    .action(
      action(async (keyId: string, o: UkoOptions) => {
        const { json } = await clientFor(o).call<ManagedKey>('GET', `/managed_keys/${id(keyId)}`);
        print(o, json, () => oneKey(json));
      }),
    );
  const transitions: [string, string][] = [
    ['activate', 'activate a managed key: it is created, enabled, in every keystore of its groups'],
    ['deactivate', 'deactivate a managed key: it is disabled in its keystores'],
    ['destroy', 'destroy a managed key: its deletion is scheduled in its keystores'],
  ];
  for (const [verb, description] of transitions) {
    withUko(key.command(verb))
      .description(description)
      .argument('<id>', 'the managed key ID')
      .action(
        action(async (keyId: string, o: UkoOptions) => {
          const path = `/managed_keys/${id(keyId)}`;
          const { json } = await clientFor(o).change<ManagedKey>('POST', `${path}/${verb}`, path);
          print(o, json, () => oneKey(json));
        }),
      );
  }

  const perKey = (name: string, description: string, run: (client: UkoClient, key: ManagedKey) => Promise<StatusInKeystore[]>) =>
    withUko(uko.command(name))
      .description(description)
      .argument('[id]', 'the managed key ID')
      .option('--all', 'every managed key of the vault given with --vault')
      .option('--vault <id>', 'the vault, with --all')
      .action(
        action(async (keyId: string | undefined, o: UkoOptions & { all?: boolean; vault?: string }) => {
          if ((keyId === undefined) === (o.all !== true)) throw new TkeError(`Name one managed key, or give --all --vault <id>.`);
          if (o.all === true && o.vault === undefined) throw new TkeError('--all needs --vault <id>.');
          const client = clientFor(o);
          let statuses: KeyStatus[];
          if (keyId !== undefined) {
            const { json } = await client.call<ManagedKey>('GET', `/managed_keys/${id(keyId)}`);
            statuses = [statusOf(json, await run(client, json))];
          } else {
            const keys = await listAll<ManagedKey>(client, '/managed_keys', 'managed_keys', { 'vault.id': o.vault });
            statuses = await eachKey(keys, name, (k) => run(client, k));
          }
          print(o, keyId !== undefined ? { status_in_keystores: statuses[0]!.status_in_keystores } : statuses, () => statusTable(statuses));
          if (name === 'sync' && !allInSync(statuses)) process.exitCode = 1;
        }),
      );
  perKey('verify', 'verify sync: ask every keystore of a managed key now, and show and record where it disagrees', async (client, k) => {
    const { json } = await client.call<{ status_in_keystores: StatusInKeystore[] }>('GET', `/managed_keys/${id(k.id)}/status_in_keystores`);
    return json.status_in_keystores;
  });
  perKey('sync', 'sync: bring every keystore of a managed key in line with it (exit code 1 if one still disagrees)', async (client, k) => {
    const path = `/managed_keys/${id(k.id)}`;
    const { json } = await client.change<{ status_in_keystores: StatusInKeystore[] }>('POST', `${path}/sync_status_in_keystores`, path);
    return json.status_in_keystores;
  });
  return uko;
}

/**
 * Runs one verify or sync per managed key, a few at once, with a progress bar on a terminal. A key
 * that fails (deleted meanwhile, changed concurrently) is reported in its row and the others go on.
 */
async function eachKey(keys: ManagedKey[], label: string, run: (key: ManagedKey) => Promise<StatusInKeystore[]>): Promise<KeyStatus[]> {
  const bar = process.stderr.isTTY ? new ProgressBar(label, keys.length) : undefined;
  const results: KeyStatus[] = new Array<KeyStatus>(keys.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) {
      const key = keys[i]!;
      try {
        results[i] = statusOf(key, await run(key));
      } catch (error) {
        if (!(error instanceof TkeError)) throw error;
        results[i] = { managed_key: { id: key.id, label: key.label }, error: error.message };
      }
      bar?.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, keys.length) }, worker));
  bar?.finish(done);
  return results;
}
