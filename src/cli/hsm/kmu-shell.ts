import { writeFileSync } from 'node:fs';
import type { KeyAttribute } from '../../hsm/index.ts';
import { promptPassword } from '../tke/prompt-password.ts';
import { HsmShellRefusal, type HsmServer } from './hsm-server.ts';
import { HELP_HEADER, type ShellInput } from './shell-input.ts';

const HELP = `${HELP_HEADER}   loginHSM              Login to the HSM: loginHSM -u CU -s <user name> -p <password>|-hpswd
   logoutHSM             Logout from the HSM
   genSymKey             Generates a symmetric key: -t <16|21|31> -s <bytes> -l <label> [-id <id>] [-nex] [-u <user ids>]
   genRSAKeyPair         Generates an RSA key pair: -m <modulus bits> -e <public exponent> -l <label> [-id <id>] [-nex]
   genECCKeyPair         Generates an ECC key pair: -i <curve id> -l <label> [-id <id>] [-nex]
   findKey               Finds keys: [-t <key type>] [-c <key class>] [-l <label>] [-id <id>] [-u <user ids>]
   getAttribute          Writes key attributes to a file: -o <key handle> -a <attribute|512> -out <file>
   getKeyInfo            Gets the owner and users of a key: -k <key handle>
   deleteKey             Deletes a key: -k <key handle>
`;

const ok = (fn: string): string => `\n        ${fn} returned: 0x00 : HSM Return: SUCCESS\n`;

/** key_mgmt_util's flags: -name value pairs, and the switches that take no value. */
function flags(args: string[], switches: readonly string[] = []): Map<string, string> {
  const found = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) throw new HsmShellRefusal(`unexpected argument ${arg}`);
    if (switches.includes(arg)) found.set(arg, '');
    else {
      const value = args[++i];
      if (value === undefined) throw new HsmShellRefusal(`${arg} needs a value`);
      found.set(arg, value);
    }
  }
  return found;
}

function number(options: Map<string, string>, flag: string, required = true): number | undefined {
  const value = options.get(flag);
  if (value === undefined) {
    if (required) throw new HsmShellRefusal(`${flag} is required`);
    return undefined;
  }
  if (!/^\d+$/.test(value)) throw new HsmShellRefusal(`${flag} takes a number`);
  return Number(value);
}

const ids = (value: string | undefined): number[] | undefined => (value === undefined ? undefined : value.split(',').map(Number));

/** How getAttribute writes a value: alone (-a <id>) numbers take 32 bits; in the full dump (-a 512) flags and codes take a byte. */
export function attributeValue(attribute: KeyAttribute, alone: boolean): string {
  if (attribute.kind === 'text') return String(attribute.value);
  if (attribute.kind === 'hex') return `0x${attribute.value}`;
  const width = attribute.kind === 'int' || alone ? 8 : 2;
  return `0x${Number(attribute.value).toString(16).padStart(width, '0')}`;
}

/** key_mgmt_util for a crypto user, on one HSM of the configuration (node `server.index`). */
export class KmuShell {
  failures = 0;

  constructor(
    private readonly server: HsmServer,
    private readonly input: ShellInput,
    private readonly out: (text: string) => void,
  ) {}

  private get status(): string {
    return `\n        Cluster Error Status\n        Node id ${this.server.index} and err state 0x00000000 : HSM Return: SUCCESS\n`;
  }

  async run(): Promise<void> {
    for (;;) {
      const line = await this.input.next('Command: ');
      if (line === undefined) return;
      if (!(await this.execute(line))) return;
    }
  }

  async execute(line: string): Promise<boolean> {
    const [name, ...args] = line.trim().split(/\s+/).filter(Boolean);
    if (name === undefined) return true;
    const fn = FUNCTIONS[name];
    try {
      return await this.dispatch(name, args);
    } catch (error) {
      if (!(error instanceof HsmShellRefusal)) throw error;
      this.failures++;
      this.out(fn ? `\n        ${fn} returned: 0xff : HSM Error: ${error.message}\n` : `${name}: ${error.message}\n`);
      return true;
    }
  }

  private async dispatch(name: string, args: string[]): Promise<boolean> {
    const s = this.server;
    switch (name) {
      case 'exit':
      case 'quit':
        return false;
      case 'help':
        this.out(HELP);
        return true;
      case 'loginHSM': {
        const o = flags(args, ['-hpswd']);
        const password = o.has('-hpswd') ? await promptPassword('Enter password:') : o.get('-p');
        if (o.get('-s') === undefined || password === undefined) throw new HsmShellRefusal('loginHSM -u CU -s <user name> -p <password>');
        await s.login((o.get('-u') ?? 'CU').toUpperCase(), o.get('-s')!, password);
        this.out(`${ok('Cfm3LoginHSM')}${this.status}`);
        return true;
      }
      case 'logoutHSM':
        await s.logout();
        this.out(`${ok('Cfm3LogoutHSM')}${this.status}`);
        return true;
      case 'genSymKey': {
        const o = flags(args, ['-nex', '-sess', '-attest']);
        if (o.has('-sess')) throw new HsmShellRefusal('session keys are not supported; Concord keeps every key on the HSM');
        const { handle } = await s.command('genSymKey', {
          keyType: number(o, '-t'),
          size: number(o, '-s'),
          label: o.get('-l') ?? '',
          ...(o.has('-id') ? { id: o.get('-id') } : {}),
          ...(o.has('-nex') ? { extractable: false } : {}),
          ...(o.has('-u') ? { shareWith: ids(o.get('-u')) } : {}),
        });
        this.out(`${ok('Cfm3GenerateSymmetricKey')}\n        Symmetric Key Created.  Key Handle: ${String(handle)}\n${this.status}`);
        return true;
      }
      case 'genRSAKeyPair':
      case 'genECCKeyPair': {
        const o = flags(args, ['-nex', '-sess', '-attest']);
        const pair = await s.command('genKeyPair', {
          kind: name === 'genRSAKeyPair' ? 'RSA' : 'EC',
          label: o.get('-l') ?? '',
          ...(name === 'genRSAKeyPair' ? { modulusBits: number(o, '-m'), publicExponent: number(o, '-e') } : { curve: number(o, '-i') }),
          ...(o.has('-id') ? { id: o.get('-id') } : {}),
          ...(o.has('-nex') ? { extractable: false } : {}),
        });
        this.out(
          `${ok('Cfm3GenerateKeyPair')}\n        Cfm3GenerateKeyPair:    public key handle: ${String(pair.publicHandle)}    private key handle: ${String(pair.privateHandle)}\n${this.status}`,
        );
        return true;
      }
      case 'findKey': {
        const o = flags(args);
        const { handles } = (await s.command('findKey', {
          ...(o.has('-t') ? { keyType: number(o, '-t') } : {}),
          ...(o.has('-c') ? { keyClass: number(o, '-c') } : {}),
          ...(o.has('-l') ? { label: o.get('-l') } : {}),
          ...(o.has('-id') ? { id: o.get('-id') } : {}),
          ...(o.has('-u') ? { userIds: ids(o.get('-u')) } : {}),
        })) as { handles: number[] };
        this.out(
          `Total number of keys present ${handles.length}\n\n number of keys matched from start index 0::${Math.max(0, handles.length - 1)}\n${handles.join(', ')}\n${this.status}${ok('Cfm3FindKey')}`,
        );
        return true;
      }
      case 'getAttribute': {
        const o = flags(args);
        const attribute = number(o, '-a')!;
        const file = o.get('-out') ?? '';
        if (file === '') throw new HsmShellRefusal('-out <file> is required: getAttribute writes to a file');
        const { attributes } = (await s.command('getAttribute', { handle: number(o, '-o') })) as { attributes: KeyAttribute[] };
        const chosen = attribute === 512 ? attributes : attributes.filter((a) => a.id === attribute);
        if (chosen.length === 0) throw new HsmShellRefusal(`key ${o.get('-o') ?? ''} has no attribute ${attribute}`);
        const dump = chosen.map((a) => `${a.name}\n${attributeValue(a, attribute !== 512)}\n`).join('');
        writeFileSync(file, dump);
        const header = attribute === 512 ? `got all attributes of size ${Buffer.byteLength(dump)} attr cnt ${chosen.length}\n` : '';
        this.out(`${header}Attributes dumped into ${file} file\n${ok('Cfm3GetAttribute')}`);
        return true;
      }
      case 'getKeyInfo': {
        const o = flags(args);
        const info = (await s.command('getKeyInfo', { handle: number(o, '-k') })) as { owner: number; sharedWith: number[] };
        const shared =
          info.sharedWith.length === 0
            ? ''
            : `\n        also, shared to following ${info.sharedWith.length} user(s):\n\n                 ${info.sharedWith.join(', ')}\n`;
        this.out(`${ok('Cfm3GetKey')}\n        Owned by user ${info.owner}\n${shared}`);
        return true;
      }
      case 'deleteKey': {
        const o = flags(args);
        await s.command('deleteKey', { handle: number(o, '-k') });
        this.out(`${ok('Cfm3DeleteKey')}${this.status}`);
        return true;
      }
      default:
        this.failures++;
        this.out(`Unknown command '${name}'; help lists the commands\n`);
        return true;
    }
  }
}

/** The library function key_mgmt_util names in each command's result line. */
const FUNCTIONS: Readonly<Record<string, string>> = {
  loginHSM: 'Cfm3LoginHSM',
  logoutHSM: 'Cfm3LogoutHSM',
  genSymKey: 'Cfm3GenerateSymmetricKey',
  genRSAKeyPair: 'Cfm3GenerateKeyPair',
  genECCKeyPair: 'Cfm3GenerateKeyPair',
  findKey: 'Cfm3FindKey',
  getAttribute: 'Cfm3GetAttribute',
  getKeyInfo: 'Cfm3GetKey',
  deleteKey: 'Cfm3DeleteKey',
};
