import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError, loadRegionConfig, regionNameProblem } from '../config/index.ts';
import { instanceIdOf } from '../keyprotect/index.ts';
import { createLogger } from '../logging/index.ts';
import { RegionIdentity } from '../regions/index.ts';
import {
  devRegionConfigs,
  holdRegionStores,
  serveRegions,
  startRegion,
  StartupError,
  type DevOptions,
  type ProcessRole,
  type RunningRegion,
} from '../runtime/index.ts';
import { apikeyCommand } from './apikey/apikey-command.ts';
import { auditCommand } from './audit-command.ts';
import { devBanner } from './dev-banner.ts';
import { hsmKeysCommand, hsmMgmtCommand } from './hsm/hsm-commands.ts';
import { instanceCommand, kpCommand } from './keyprotect/keyprotect-commands.ts';
import { tkeCommand } from './tke/tke-command.ts';
import { ukoCommand } from './uko/uko-command.ts';

/** The version of the package: src/cli and dist/cli are both two levels below package.json. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('concord')
  .description('Concord: keys in concord across regions, speaking the AWS KMS API')
  .version(version, '-V, --version', 'print the version of concord');

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
};

const workerCount = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError('must be a number of processes, 1 or more');
  return n;
};
const WORKERS_HELP = 'processes serving each region (1: this process alone)';

program
  .command('dev')
  .description('start a whole local deployment in one process, one region per port')
  .option('--regions <list>', 'comma-separated region names', 'us-east-1,us-west-2')
  .option('--port <port>', 'port of the first region; the next regions take the next ports', integer, 8080)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--data <dir>', 'data directory', './.concord')
  .option('--account <id>', 'AWS account ID of the deployment', '111122223333')
  .option('--access-key-id <id>', 'administrator access key ID (or CONCORD_ACCESS_KEY_ID)', process.env.CONCORD_ACCESS_KEY_ID)
  .option('--secret-access-key <secret>', 'administrator secret access key (or CONCORD_SECRET_ACCESS_KEY)', process.env.CONCORD_SECRET_ACCESS_KEY)
  .option('--log-level <level>', 'log level', 'info')
  .option('--workers <n>', WORKERS_HELP, workerCount, 1)
  .option(
    '--principals-file <file>',
    'YAML list of further principals: users (arn, accessKeyId, secretAccessKey, identityPolicies) and roles (arn, trustPolicy, identityPolicies, maxSessionDuration)',
  )
  .option('--hsm-backup-interval <seconds>', 'how often HSM clusters are backed up (AWS: every 24 hours)', integer)
  .option('--no-audit', 'leave requests out of the audit trail: only to measure what the trail costs (npm run bench)')
  .option('--pkcs11-module <path...>', "PKCS#11 libraries UKO's pkcs11 keystores may name (none otherwise)")
  .option(
    '--key-pair-prefill <spec...>',
    'RSA key specs whose key pairs are generated in the background from the start (none otherwise: each from its first use)',
  )
  .action(async (options: Omit<DevOptions, 'regions'> & { regions: string; workers: number }) => {
    const { configs, credentials, workspace } = devConfigs({ ...options, regions: options.regions.split(',').map((r) => r.trim()) });
    const logger = createLogger({ level: options.logLevel });
    const start = async (role: ProcessRole, log: Logger) => {
      const started: RunningRegion[] = [];
      for (const config of configs) started.push(await startRegion(config, log, role));
      return started;
    };
    const regions = await serveRegions({
      workers: options.workers,
      logger,
      start,
      holdStores: () => {
        holdRegionStores(configs);
      },
    });
    if (!regions) return;
    const instances = regions.map((r) => ({ region: r.region, instance: instanceIdOf(options.account, r.region) }));
    process.stderr.write(devBanner({ regions, credentials, workspace, instances }));
  });

/** Options of `concord dev` that become fields of each region's configuration, so its errors name the option. */
const DEV_FLAGS: Record<string, string> = {
  region: '--regions',
  account: '--account',
  'listen.host': '--host',
  'listen.port': '--port',
  logLevel: '--log-level',
  'accessKeys.0.accessKeyId': '--access-key-id',
  'accessKeys.0.secretAccessKey': '--secret-access-key',
  'keyPairPool.prefill': '--key-pair-prefill',
};

/**
 * The dev deployment's configurations, refused naming the command-line option at fault; the
 * principals file's entries follow the administrator's, so principals.N is its Nth entry.
 */
function devConfigs(options: DevOptions): ReturnType<typeof devRegionConfigs> {
  const unknown = options.regions.find((region) => regionNameProblem(region) !== undefined);
  if (unknown !== undefined)
    throw new ConfigError(`invalid option: --regions must be a comma-separated list of region names such as us-east-1,us-west-2 (it holds '${unknown}')`);
  try {
    return devRegionConfigs(options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw error.renamed((field) => {
      const flag = DEV_FLAGS[field.replace(/^(keyPairPool\.prefill)\.\d+$/, '$1')];
      if (flag) return flag;
      // The administrator (the first principal, its access key and API key) is named by --account.
      if (field.startsWith('principals.0.') || field === 'accessKeys.0.principal' || field === 'apiKeys.0.principal') return '--account';
      const entry = /^principals\.(\d+)(.*)$/.exec(field);
      return entry ? `--principals-file entry ${entry[1]!}${entry[2]!}` : field.startsWith('accessKeys.') ? `--principals-file ${field}` : undefined;
    });
  }
}

program
  .command('identity')
  .description("print the region's public identity key (creating the identity the first time), for its peers' configuration")
  .requiredOption('--config <file>', 'region configuration (YAML)')
  .action((options: { config: string }) => {
    const config = loadRegionConfig(options.config);
    if (!config.identity) throw new ConfigError('the configuration names no identity.path');
    process.stdout.write(`${RegionIdentity.openOrInit(config.identity.path).publicKey}\n`);
  });

program
  .command('server')
  .description('run one region from a YAML configuration file')
  .requiredOption('--config <file>', 'region configuration (YAML)')
  .option('--workers <n>', `${WORKERS_HELP}; by default one per CPU`, workerCount, availableParallelism())
  .action(async (options: { config: string; workers: number }) => {
    const config = loadRegionConfig(options.config);
    const logger = createLogger({ level: config.logLevel });
    const start = async (role: ProcessRole, log: Logger) => [await startRegion(config, log, role)];
    const [region] =
      (await serveRegions({
        workers: options.workers,
        logger,
        start,
        holdStores: () => {
          holdRegionStores([config]);
        },
      })) ?? [];
    if (region) logger.info({ region: region.region, url: region.url }, 'region listening');
  });

program.addCommand(tkeCommand());
program.addCommand(auditCommand());
program.addCommand(apikeyCommand());
program.addCommand(instanceCommand());
program.addCommand(kpCommand());
program.addCommand(ukoCommand());
program.addCommand(hsmMgmtCommand());
program.addCommand(hsmKeysCommand());

/**
 * A configuration Concord cannot run with (exit code 2) or a start its operator must fix (1) is
 * one line; anything else is a fault of Concord's, whose stack trace helps whoever reports it.
 */
program.parseAsync().catch((error: unknown) => {
  const told = error instanceof ConfigError || error instanceof StartupError;
  process.stderr.write(`concord: ${told ? error.message : String((error as Error | undefined)?.stack ?? error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
