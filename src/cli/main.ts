import { Command, InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError, loadRegionConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { RegionIdentity } from '../regions/index.ts';
import { devRegionConfigs, serveRegions, startRegion, type DevOptions, type ProcessRole, type RunningRegion } from '../runtime/index.ts';
import { auditCommand } from './audit-command.ts';
import { tkeCommand } from './tke/tke-command.ts';

const program = new Command('concord').description('Concord: keys in concord across regions, speaking the AWS KMS API');

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
  .action(async (options: Omit<DevOptions, 'regions'> & { regions: string; workers: number }) => {
    const { configs, credentials, workspace } = devRegionConfigs({ ...options, regions: options.regions.split(',').map((r) => r.trim()) });
    const logger = createLogger({ level: options.logLevel });
    const start = async (role: ProcessRole, log: Logger) => {
      const started: RunningRegion[] = [];
      for (const config of configs) started.push(await startRegion(config, log, role));
      return started;
    };
    const regions = await serveRegions({ workers: options.workers, logger, start });
    if (!regions) return;
    process.stderr.write(
      [
        'Concord dev deployment is running.',
        ...regions.map((r) => `  ${r.region}: ${r.url}`),
        `  access key id:     ${credentials.accessKeyId}`,
        `  secret access key: ${credentials.secretAccessKey}`,
        `  crypto unit administrator: signature key 'dev-admin' in the concord tke workspace ${workspace}`,
        `  its password:      ${credentials.sigkeyPassword}`,
        `Try: AWS_ACCESS_KEY_ID=${credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> aws kms create-key --region ${regions[0]!.region} --endpoint-url ${regions[0]!.url}`,
        `     CONCORD_TKE_WORKSPACE=${workspace} CONCORD_TKE_PASSWORD=<password> AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... concord tke cryptounit-list --endpoint ${regions[0]!.url}`,
        '',
      ].join('\n'),
    );
  });

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
    const [region] = (await serveRegions({ workers: options.workers, logger, start })) ?? [];
    if (region) logger.info({ region: region.region, url: region.url }, 'region listening');
  });

program.addCommand(tkeCommand());
program.addCommand(auditCommand());

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`concord: ${error instanceof ConfigError ? error.message : String((error as Error | undefined)?.stack ?? error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
