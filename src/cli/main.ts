import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadRegionConfig } from '../config/index.ts';
import { createLogger, endLog } from '../logging/index.ts';
import { RegionIdentity } from '../regions/index.ts';
import { devRegionConfigs, startRegion, type DevOptions, type RunningRegion } from '../runtime/index.ts';
import { tkeCommand } from './tke/tke-command.ts';

const program = new Command('concord').description('Concord: keys in concord across regions, speaking the AWS KMS API');

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
};

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
  .option(
    '--principals-file <file>',
    'YAML list of further principals: users (arn, accessKeyId, secretAccessKey, identityPolicies) and roles (arn, trustPolicy, identityPolicies, maxSessionDuration)',
  )
  .option('--hsm-backup-interval <seconds>', 'how often HSM clusters are backed up (AWS: every 24 hours)', integer)
  .action(async (options: Omit<DevOptions, 'regions'> & { regions: string }) => {
    const { configs, credentials, workspace } = devRegionConfigs({ ...options, regions: options.regions.split(',').map((r) => r.trim()) });
    const logger = createLogger({ level: options.logLevel });
    const regions: RunningRegion[] = [];
    for (const config of configs) regions.push(await startRegion(config, logger));
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
    stopOnSignal(regions, logger);
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
  .action(async (options: { config: string }) => {
    const config = loadRegionConfig(options.config);
    const logger = createLogger({ level: config.logLevel });
    const region = await startRegion(config, logger);
    logger.info({ region: region.region, url: region.url }, 'region listening');
    stopOnSignal([region], logger);
  });

/**
 * Stops gracefully on SIGTERM (a supervisor) or SIGINT: each region answers the requests it
 * has begun and drains its outbox, then the log is written out (it is written asynchronously)
 * and the process exits.
 */
function stopOnSignal(regions: RunningRegion[], logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const exit = (code: number) => void endLog(logger).then(() => process.exit(code));
    Promise.all(regions.map((r) => r.close())).then(
      () => {
        exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stopping failed');
        exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

program.addCommand(tkeCommand());

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`concord: ${error instanceof ConfigError ? error.message : String((error as Error | undefined)?.stack ?? error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
