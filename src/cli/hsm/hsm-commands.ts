import { Command, InvalidArgumentError } from 'commander';
import { CmuShell } from './cmu-shell.ts';
import { HsmServer, HsmShellRefusal, loadServers } from './hsm-server.ts';
import { KmuShell } from './kmu-shell.ts';
import { commandLineInput, stdinInput, type ShellInput } from './shell-input.ts';

const write = (text: string): void => {
  process.stdout.write(text);
};

const inputOf = (command: string | undefined): ShellInput => (command !== undefined ? commandLineInput(command) : stdinInput());

/** Runs a shell to the end of its input; the exit status is 1 when a command failed, 2 when the configuration is unusable. */
async function runShell(open: () => Promise<{ run(): Promise<void>; failures: number }>, input: ShellInput): Promise<void> {
  try {
    const shell = await open();
    await shell.run();
    if (shell.failures > 0) process.exitCode = 1;
  } catch (error) {
    if (!(error instanceof HsmShellRefusal)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  } finally {
    input.close();
  }
}

/** `concord hsm-mgmt --conf FILE`: cloudhsm_mgmt_util for Concord's HSMs. */
export function hsmMgmtCommand(): Command {
  return new Command('hsm-mgmt')
    .description('manage HSM users and keys across the HSMs of a configuration file, as cloudhsm_mgmt_util does (syncKey, syncUser, ...)')
    .requiredOption('--conf <file>', 'configuration: {"servers": [{"hostname": "<ENI IP or HSM ID>", "endpoint": "http://<region endpoint>"}, ...]}')
    .option('-c, --command <commands>', 'run these commands (separated by ;) instead of reading stdin')
    .action(async (options: { conf: string; command?: string }) => {
      const input = inputOf(options.command);
      await runShell(async () => {
        const shell = new CmuShell(
          loadServers(options.conf).map((config, i) => new HsmServer(i, config)),
          input,
          write,
        );
        await shell.connect();
        return shell;
      }, input);
    });
}

const serverNumber = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a server number');
  return Number(value);
};

/** `concord hsm-keys --conf FILE`: key_mgmt_util for a crypto user, on one HSM of the configuration. */
export function hsmKeysCommand(): Command {
  return new Command('hsm-keys')
    .description("manage a crypto user's keys on an HSM, as key_mgmt_util does (genSymKey, genRSAKeyPair, findKey, getAttribute, ...)")
    .requiredOption('--conf <file>', 'the configuration hsm-mgmt reads')
    .option('--server <n>', 'the server of the configuration to use', serverNumber, 0)
    .option('-c, --command <commands>', 'run these commands (separated by ;) instead of reading stdin')
    .action(async (options: { conf: string; server: number; command?: string }) => {
      const input = inputOf(options.command);
      await runShell(async () => {
        const config = loadServers(options.conf)[options.server];
        if (!config) throw new HsmShellRefusal(`${options.conf} has no server ${options.server}`);
        const server = new HsmServer(options.server, config);
        await server.connect();
        return new KmuShell(server, input, write);
      }, input);
    });
}
