import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { CryptoUnitError } from '../../cryptounits/index.ts';
import { autoInit, autoMkRecover, autoMkRotate } from './auto-commands.ts';
import {
  adminAdd,
  adminList,
  adminRm,
  cryptounitAdd,
  cryptounitCompare,
  cryptounitList,
  cryptounitRm,
  sigkeyAdd,
  sigkeyList,
  thresholdsSet,
  zeroize,
} from './cryptounit-commands.ts';
import { TkeError } from './tke-error.ts';
import { TkeSession, type TkeOptions } from './tke-session.ts';

const count =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
const list = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** `concord tke ...`: crypto unit administration and the master key ceremony, against regions' management APIs. */
export function tkeCommand(): Command {
  const tke = new Command('tke')
    .description('administer crypto units and their master keys (signed commands to /mgmt/v1)')
    .option(
      '--workspace <dir>',
      'workspace with chosen units and signature keys (or CONCORD_TKE_WORKSPACE)',
      process.env.CONCORD_TKE_WORKSPACE ?? join(homedir(), '.concord', 'tke'),
    )
    .option('--password <password>', 'password of the signature keys (or CONCORD_TKE_PASSWORD; asked on a terminal otherwise)')
    .option('--sigkeys <names>', 'sign with these signature keys only (comma-separated)')
    .option('--access-key-id <id>', 'access key of the region (or AWS_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'its secret (or AWS_SECRET_ACCESS_KEY)');

  const session = (): TkeSession => new TkeSession(tke.opts<TkeOptions>());
  const action =
    <A extends unknown[]>(work: (...args: A) => Promise<void> | void) =>
    async (...args: A): Promise<void> => {
      try {
        await work(...args);
      } catch (error) {
        // Refusals of the ceremony's own checks come as CryptoUnitError, those of this command as TkeError.
        if (!(error instanceof TkeError || error instanceof CryptoUnitError)) throw error;
        process.stderr.write(`concord tke: ${error.message}\n`);
        process.exitCode = 1;
      }
    };
  const batch = ['--batch <n>', 'stored records re-wrapped per request', count(1, 5000), 1000] as const;

  tke
    .command('sigkey-add')
    .description('create an administrator signature key (P-256) in a password-protected file')
    .requiredOption('--name <name>', 'name of the key and, by default, of the administrator')
    .action(action(async (o: { name: string }) => sigkeyAdd(session(), o.name)));
  tke
    .command('sigkey-list')
    .description('list the signature keys in the workspace')
    .action(
      action(() => {
        sigkeyList(session());
      }),
    );
  tke
    .command('cryptounit-list')
    .description("list a region's crypto units")
    .requiredOption('--endpoint <url>', 'the region')
    .action(action(async (o: { endpoint: string }) => cryptounitList(session(), o.endpoint)));
  tke
    .command('cryptounit-add')
    .description('choose crypto units to work on')
    .requiredOption('--endpoint <url>', 'the region')
    .option('--unit <ids>', 'unit IDs (comma-separated, repeatable)', list)
    .option('--all', "all of the region's units")
    .action(action(async (o: { endpoint: string; unit?: string[]; all?: boolean }) => cryptounitAdd(session(), o.endpoint, o.unit ?? [], o.all ?? false)));
  tke
    .command('cryptounit-rm')
    .description('stop working on crypto units')
    .requiredOption('--unit <ids>', 'unit IDs (comma-separated, repeatable)', list)
    .action(
      action((o: { unit: string[] }) => {
        cryptounitRm(session(), o.unit);
      }),
    );
  tke
    .command('cryptounit-compare')
    .description('administrators, thresholds and master key registers of the chosen units side by side')
    .action(action(() => cryptounitCompare(session())));
  tke
    .command('cryptounit-admin-add')
    .description('add the administrator of a signature key to every chosen unit')
    .requiredOption('--sigkey <name>', 'signature key in the workspace')
    .option('--name <name>', 'administrator name (at most 30 characters; the key name by default)')
    .action(action(async (o: { sigkey: string; name?: string }) => adminAdd(session(), o.sigkey, o.name)));
  tke
    .command('cryptounit-admin-rm')
    .description('remove an administrator from every chosen unit')
    .option('--sigkey <name>', 'signature key in the workspace')
    .option('--public-key <base64>', 'or the administrator public key (SPKI DER, base64)')
    .action(
      action(async (o: { sigkey?: string; publicKey?: string }) => {
        const s = session();
        const publicKey = o.sigkey ? s.workspace.sigkey(o.sigkey).publicKey : o.publicKey;
        if (!publicKey) throw new TkeError('Name the administrator with --sigkey or --public-key.');
        await adminRm(s, publicKey);
      }),
    );
  tke
    .command('cryptounit-admin-list')
    .description('administrators of the chosen units')
    .action(action(() => adminList(session())));
  tke
    .command('cryptounit-thrhld-set')
    .description('set the signature and revocation thresholds of every chosen unit (ends imprint mode)')
    .requiredOption('--signature <n>', 'signatures needed for commands', count(1, 8))
    .requiredOption('--revocation <n>', 'signatures needed to remove an administrator', count(1, 8))
    .action(action(async (o: { signature: number; revocation: number }) => thresholdsSet(session(), o.signature, o.revocation)));
  tke
    .command('auto-init')
    .description('create a master key in a recovery unit and make it current in every chosen unit')
    .action(action(() => autoInit(session())));
  tke
    .command('auto-mk-rotate')
    .description('rotate the master key of the chosen units and re-wrap every stored key (resumable)')
    .option(...batch)
    .action(action(async (o: { batch: number }) => autoMkRotate(session(), o.batch)));
  tke
    .command('auto-mk-recover')
    .description("copy a recovery unit's current master key into the other chosen units")
    .option('--from <id>', 'recovery unit to copy from (the first chosen one holding a master key by default)')
    .option(...batch)
    .action(action(async (o: { from?: string; batch: number }) => autoMkRecover(session(), o.from, o.batch)));
  tke
    .command('cryptounit-zeroize')
    .description('clear a chosen unit: master keys, administrators, thresholds')
    .requiredOption('--unit <id>', 'the unit')
    .action(action(async (o: { unit: string }) => zeroize(session(), o.unit)));
  return tke;
}
