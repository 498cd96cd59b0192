import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { queryAuditEvents, verifyAuditChain } from '../audit/index.ts';
import { loadRegionConfig, type RegionConfig } from '../config/index.ts';
import { RegionIdentity } from '../regions/index.ts';
import { openStore, type Store } from '../store/index.ts';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d{1,9})([smhd])$/;

/** A point in time: ISO 8601, or a duration back from now (30m, 12h, 7d). */
export function parseTime(value: string, now = Date.now()): number {
  const duration = DURATION.exec(value);
  if (duration) return now - Number(duration[1]) * UNITS[duration[2]!]!;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidArgumentError('must be an ISO 8601 time (2026-12-06T19:00:00Z) or a duration back from now (30m, 12h, 7d)');
  return time;
}

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

async function withStore<T>(config: Readonly<RegionConfig>, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.store);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

interface QueryOptions {
  config: string;
  key?: string;
  principal?: string;
  event?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/**
 * `concord audit`: reads the region's audit trail straight from its store, with the region's
 * configuration file. Not through the API: verification must not depend on the process whose
 * records it checks, it works on a stopped region or a copy of its store (a backup, a forensic
 * copy), and who may read the trail is who may read the store.
 */
export function auditCommand(): Command {
  const audit = new Command('audit').description("query and verify the region's audit trail, read from its store");
  audit
    .command('query')
    .description('print audit events (CloudTrail records) as JSON lines, oldest first')
    .requiredOption('--config <file>', 'region configuration (YAML)')
    .option('--key <id|arn>', 'events about this key')
    .option('--principal <arn>', 'events by this principal, or by sessions of this role')
    .option('--event <name>', 'events of this operation, e.g. Decrypt')
    .option('--since <time>', 'ISO 8601 time or a duration back from now (30m, 12h, 7d)', (value) => parseTime(value))
    .option('--until <time>', 'ISO 8601 time or a duration back from now', (value) => parseTime(value))
    .option('--limit <n>', 'at most this many events', positive)
    .action(async (options: QueryOptions) => {
      const config = loadRegionConfig(options.config);
      await withStore(config, async (store) => {
        const events = queryAuditEvents(store, {
          key: options.key,
          principal: options.principal,
          eventName: options.event,
          since: options.since,
          until: options.until,
          limit: options.limit,
        });
        for await (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
      });
    });
  audit
    .command('verify')
    .description("walk the audit chain: hashes, order, and heads signed with the region's identity key; exit status 1 at the first bad event")
    .requiredOption('--config <file>', 'region configuration (YAML)')
    .option('--public-key <base64>', "the region's public identity key (concord identity); by default read from its identity file")
    .action(async (options: { config: string; publicKey?: string }) => {
      const config = loadRegionConfig(options.config);
      const publicKey =
        options.publicKey ?? (config.identity && existsSync(config.identity.path) ? RegionIdentity.openOrInit(config.identity.path).publicKey : undefined);
      const report = await withStore(config, (store) => verifyAuditChain(store, { region: config.region, publicKey }));
      process.stdout.write(`${JSON.stringify(report)}\n`);
      if (!report.ok) {
        process.stderr.write(`concord audit verify: the audit trail fails at sequence ${report.firstBadSeq!}: ${report.problem!}\n`);
        process.exitCode = 1;
      } else if (!report.signaturesChecked) {
        process.stderr.write('concord audit verify: hashes only; give --public-key to check the signed heads\n');
      }
    });
  return audit;
}
