import { writeFileSync } from 'node:fs';
import { promptPassword } from '../tke/prompt-password.ts';
import { CAUTION, findAllKeysText, keyInfoText, listUsersText, serverInfoText, type UserRow } from './cmu-format.ts';
import { HsmServer, HsmShellRefusal } from './hsm-server.ts';
import { HELP_HEADER, type ShellInput } from './shell-input.ts';

const HELP = `${HELP_HEADER}   quit                  Exits this application
   server                Enters server mode on an HSM (exit leaves it)
   info                  Gets information about a server: info server <server ID>

   loginHSM              Login to the HSM: loginHSM <CO|CU|PRECO> <user name> <password|-hpswd>
   logoutHSM             Logout from the HSM
   listUsers             Lists all users on the HSM
   createUser            Creates a user: createUser <CO|CU|AU> <user name> <password>
   deleteUser            Deletes a user: deleteUser <CO|CU|AU> <user name>
   changePswd            Changes a password: changePswd <user type> <user name> <new password|-hpswd>
   syncUser              Syncs a user to another server: syncUser <user ID> <server ID> (server mode)

   findAllKeys           Finds the keys of a user: findAllKeys <user id> <key hash (0/1)> [<output file>]
   getKeyInfo            Gets the owner and users of a key: getKeyInfo -k <key handle> [<output file>]
   shareKey              Shares a key: shareKey <key handle> <user id> <(share/unshare key?) 1/0>
   syncKey               Syncs a key to another server: syncKey <key handle> <destination hsm> (server mode)
`;

const USER_TYPES = new Set(['CO', 'CU', 'AU', 'PRECO', 'PCO']);

/**
 * cloudhsm_mgmt_util: commands on every server of the configuration (global mode), or on one
 * (`server N`, left with `exit`). Each line is one command; its output is written as AWS's
 * tool writes it. Returns from `run` with the number of commands that failed.
 */
export class CmuShell {
  private mode: HsmServer | undefined;
  failures = 0;

  constructor(
    private readonly servers: HsmServer[],
    private readonly input: ShellInput,
    private readonly out: (text: string) => void,
  ) {}

  /** The start-up trace: every server in file order, connected or not. */
  async connect(): Promise<void> {
    this.out('Connecting to the server(s), it may take time\ndepending on the server(s) load, please wait...\n\n');
    for (const server of this.servers) {
      const { hostname, port } = server.config;
      this.out(`Connecting to server '${hostname}': hostname '${hostname}', port ${port}...\n`);
      try {
        await server.connect();
        this.out(`Connected to server '${hostname}': hostname '${hostname}', port ${port}.\nE2E enabled on ${server.label}\n`);
      } catch (error) {
        this.out(`Connection to server '${hostname}' failed: ${(error as Error).message}\n`);
      }
    }
  }

  prompt(): string {
    return this.mode ? `server${this.mode.index}> ` : 'aws-cloudhsm> ';
  }

  async run(): Promise<void> {
    for (;;) {
      const line = await this.input.next(this.prompt());
      if (line === undefined) return;
      if (!(await this.execute(line))) return;
    }
  }

  /** Runs one command line; false when it ends the shell. */
  async execute(line: string): Promise<boolean> {
    const [name, ...args] = line.trim().split(/\s+/).filter(Boolean);
    if (name === undefined) return true;
    try {
      return await this.dispatch(name, args);
    } catch (error) {
      if (!(error instanceof HsmShellRefusal)) throw error;
      this.fail(`${name} failed: ${error.message}`);
      return true;
    }
  }

  private fail(message: string): void {
    this.failures++;
    this.out(`${message}\n`);
  }

  /** The servers a command runs on: the one of server mode, or every connected server. */
  private targets(): HsmServer[] {
    return this.mode ? [this.mode] : this.servers.filter((server) => server.connected);
  }

  private server(arg: string | undefined): HsmServer {
    const server = arg !== undefined && /^\d+$/.test(arg) ? this.servers[Number(arg)] : undefined;
    if (!server) throw new HsmShellRefusal(`server ${arg ?? ''} is not in the configuration (servers 0 to ${this.servers.length - 1})`);
    if (!server.connected) throw new HsmShellRefusal(`${server.label} is not connected`);
    return server;
  }

  /** Runs `work` on each target server, writing `<name> success on server N(ip)` or why it failed there. */
  private async eachServer(name: string, work: (server: HsmServer) => Promise<unknown>): Promise<void> {
    for (const server of this.targets()) {
      try {
        const text = await work(server);
        this.out(typeof text === 'string' ? text : `${name} success on ${server.label}\n`);
      } catch (error) {
        if (!(error instanceof HsmShellRefusal)) throw error;
        this.fail(`${name} failed on ${server.label}: ${error.message}`);
      }
    }
  }

  private async confirm(): Promise<boolean> {
    this.out(`${CAUTION}\nDo you want to continue(y/n)?`);
    const answer = await this.input.next('');
    if (!this.input.interactive) this.out(`${answer ?? ''}\n`);
    return answer?.trim().toLowerCase() === 'y';
  }

  private async password(given: string | undefined): Promise<string> {
    if (given === '-hpswd') return promptPassword('Enter password:');
    if (given === undefined) throw new HsmShellRefusal('a password is required');
    return given;
  }

  private async dispatch(name: string, args: string[]): Promise<boolean> {
    const usage = (syntax: string): never => {
      throw new HsmShellRefusal(`usage: ${syntax}`);
    };
    const userType = (arg: string | undefined): string =>
      arg !== undefined && USER_TYPES.has(arg.toUpperCase()) ? arg.toUpperCase() : usage(`${name} <user type> ...`);
    const handle = (arg: string | undefined): number => (arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : usage(`${name} <key handle> ...`));
    switch (name) {
      case 'quit':
        return false;
      case 'help':
        this.out(HELP);
        return true;
      case 'server': {
        this.mode = this.server(args[0]);
        this.out("\nServer is in 'E2' mode...\n");
        return true;
      }
      case 'exit':
        if (!this.mode) return false;
        this.mode = undefined;
        return true;
      case 'info': {
        if (args[0] !== 'server') usage('info server <server ID>');
        const server = this.servers[Number(args[1])];
        if (!server || !/^\d+$/.test(args[1] ?? '')) usage('info server <server ID>');
        this.out(serverInfoText(server!.index, server!.config.hostname, server!.config.port, server!.connected, server!.hsmId, server!.user));
        return true;
      }
      case 'loginHSM': {
        const type = userType(args[0]);
        const user = args[1] ?? usage('loginHSM <user type> <user name> <password|-hpswd>');
        const password = await this.password(args[2]);
        this.out('\n');
        await this.eachServer(name, (server) => server.login(type, user, password));
        return true;
      }
      case 'logoutHSM':
        this.out('\n');
        await this.eachServer(name, (server) => server.logout());
        return true;
      case 'listUsers':
        await this.eachServer(name, async (server) => listUsersText(server.label, (await server.listUsers()).users as UserRow[]));
        return true;
      case 'findAllKeys': {
        const userId = handle(args[0]);
        if (args[1] !== '0' && args[1] !== '1') usage('findAllKeys <user id> <key hash (0/1)> [<output file>]');
        let text = '';
        await this.eachServer(name, async (server) => {
          const answer = await server.command('findAllKeys', { userId, hash: args[1] === '1' });
          const part = findAllKeysText(server.label, answer.keys as { handle: number; relation: string }[], answer.hash as string | undefined);
          text += part;
          return args[2] === undefined ? part : '';
        });
        if (args[2] !== undefined) writeFileSync(args[2], text);
        return true;
      }
      case 'getKeyInfo': {
        const rest = args[0] === '-k' ? args.slice(1) : args;
        const key = handle(rest[0]);
        let text = '';
        await this.eachServer(name, async (server) => {
          const part = keyInfoText(
            server.label,
            (await server.command('getKeyInfo', { handle: key })) as { token: boolean; owner: number; sharedWith: number[] },
          );
          text += part;
          return rest[1] === undefined ? part : '';
        });
        if (rest[1] !== undefined) writeFileSync(rest[1], text);
        return true;
      }
      case 'createUser':
      case 'deleteUser':
      case 'changePswd': {
        const type = userType(args[0]);
        const user = args[1] ?? usage(`${name} <user type> <user name>${name === 'deleteUser' ? '' : ' <password>'}`);
        const password = name === 'deleteUser' ? undefined : await this.password(args[2]);
        if (!(await this.confirm())) return true;
        const count = this.targets().length;
        const verb = {
          createUser: `Creating User ${user}(${type})`,
          deleteUser: `Deleting user ${user}(${type})`,
          changePswd: `Changing password for ${user}(${type})`,
        }[name];
        this.out(`${verb} on ${count} nodes\n`);
        await this.eachServer(name, async (server) => {
          await server.command(name, { type, name: user, ...(password !== undefined ? { password } : {}) });
        });
        return true;
      }
      case 'shareKey': {
        const key = handle(args[0]);
        const users = (args[1] ?? '').split(',').filter(Boolean).map(Number);
        if (users.length === 0 || users.some((id) => !Number.isInteger(id)) || (args[2] !== '0' && args[2] !== '1')) {
          usage('shareKey <key handle> <user id> <(share/unshare key?) 1/0>');
        }
        if (!(await this.confirm())) return true;
        await this.eachServer(name, async (server) => {
          await server.command('shareKey', { handle: key, userIds: users, share: args[2] === '1' });
        });
        return true;
      }
      case 'syncKey':
      case 'syncUser': {
        if (!this.mode) throw new HsmShellRefusal(`${name} runs in server mode: enter it on the source HSM first (server <server ID>)`);
        const id = handle(args[0]);
        const destination = this.server(args[1]);
        const source = this.mode;
        if (destination === source) throw new HsmShellRefusal('the destination is the source server');
        if (destination.session === undefined) {
          throw new HsmShellRefusal(
            `not logged in on ${destination.label}: log in with the same user on both servers (user credentials must be the same on both clusters)`,
          );
        }
        const [exportName, importName, member] = name === 'syncKey' ? ['exportKey', 'importKey', 'handle'] : ['exportUser', 'importUser', 'userId'];
        const { synced } = await source.command(exportName, { [member]: id });
        if (name === 'syncUser') this.out('ExtractMaskedObject: 0x0 !\n');
        await destination.command(importName, { synced });
        this.out(name === 'syncUser' ? 'InsertMaskedObject: 0x0 !\nsyncUser success\n' : 'syncKey success\n');
        return true;
      }
      default:
        this.fail(`Unknown command '${name}'; help lists the commands`);
        return true;
    }
  }
}
