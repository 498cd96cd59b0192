import type { KeyObject } from 'node:crypto';
import {
  canonicalCommand,
  openSigkey,
  signCommand,
  signersFor,
  type CeremonySession,
  type CommandArgs,
  type CommandName,
  type CommandOutcome,
  type SigkeyFile,
  type UnitView as ChosenView,
} from '../../cryptounits/index.ts';
import { MgmtClient, type Credentials } from './mgmt-client.ts';
import { promptPassword } from './prompt-password.ts';
import { TkeError } from './tke-error.ts';
import { Workspace, type ChosenUnit } from './workspace.ts';

export interface TkeOptions {
  workspace: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  password?: string;
  /** Comma-separated names of the signature keys to sign with; all of the workspace's by default. */
  sigkeys?: string;
}

/** How often a new password may be mistyped before the command gives up. */
const NEW_PASSWORD_ATTEMPTS = 3;

/** A chosen unit with what its region says about it now. */
export type UnitView = ChosenView<ChosenUnit>;

/** One run of `concord tke`: the workspace, the regions' management APIs and the opened signature keys. */
export class TkeSession implements CeremonySession<ChosenUnit> {
  readonly workspace: Workspace;
  private readonly clients = new Map<string, MgmtClient>();
  private readonly opened = new Map<string, KeyObject>();

  constructor(private readonly options: TkeOptions) {
    this.workspace = new Workspace(options.workspace);
  }

  client(endpoint: string): MgmtClient {
    let client = this.clients.get(endpoint);
    if (!client) {
      client = new MgmtClient(endpoint, this.credentials());
      this.clients.set(endpoint, client);
    }
    return client;
  }

  async chosen(): Promise<UnitView[]> {
    const refs = this.workspace.units();
    if (refs.length === 0) throw new TkeError("No crypto units are chosen; choose them with 'concord tke cryptounit-add --endpoint URL --unit ID'.");
    return Promise.all(refs.map(async (ref) => ({ ref, info: await this.client(ref.endpoint).unit(ref.id) })));
  }

  async view(ref: ChosenUnit): Promise<UnitView> {
    return { ref, info: await this.client(ref.endpoint).unit(ref.id) };
  }

  sigkeys(): SigkeyFile[] {
    const all = this.workspace.sigkeys();
    if (!this.options.sigkeys) return all;
    return this.options.sigkeys.split(',').map((name) => this.workspace.sigkey(name.trim()));
  }

  /** Signs a command with as many of the workspace's administrator keys as the unit needs, and runs it. */
  async run(ref: ChosenUnit, command: CommandName, args: CommandArgs = {}): Promise<CommandOutcome> {
    const client = this.client(ref.endpoint);
    const info = await client.unit(ref.id);
    const { needed, signers } = signersFor(info, command, args, this.sigkeys());
    if (signers.length < needed) {
      throw new TkeError(
        `Command ${command} on unit ${ref.id} needs signatures from ${needed} of its administrators, but the workspace holds signature keys of only ${signers.length}; add them with 'concord tke sigkey-add' or choose others with --sigkeys.`,
      );
    }
    const message = canonicalCommand(ref.id, info.nonce, command, args);
    const signatures = [];
    for (const signer of signers) signatures.push(signCommand(await this.open(signer), message));
    return client.execute(ref.id, { command, args, nonce: info.nonce, signatures });
  }

  async password(purpose: string): Promise<string> {
    const given = this.options.password ?? process.env.CONCORD_TKE_PASSWORD;
    if (given !== undefined) return given;
    if (!process.stdin.isTTY) throw new TkeError(`A password is needed for ${purpose}: give --password or set CONCORD_TKE_PASSWORD.`);
    return promptPassword(`Password for ${purpose}: `);
  }

  /**
   * The password a new signature key is sealed under. Asked on a terminal, it is asked twice, as a
   * mistyped one would seal the key for good: until both answers match (at most three times).
   */
  async newPassword(purpose: string): Promise<string> {
    const given = this.options.password ?? process.env.CONCORD_TKE_PASSWORD;
    if (given !== undefined) return given;
    if (!process.stdin.isTTY) throw new TkeError(`A password is needed for ${purpose}: give --password or set CONCORD_TKE_PASSWORD.`);
    for (let attempt = 1; attempt <= NEW_PASSWORD_ATTEMPTS; attempt++) {
      const password = await promptPassword(`Password for ${purpose}: `);
      if (password === '') {
        process.stderr.write('The password must not be empty.\n');
        continue;
      }
      if ((await promptPassword('The same password again: ')) === password) return password;
      process.stderr.write('The two passwords differ; once more.\n');
    }
    throw new TkeError(`No password was given twice alike in ${NEW_PASSWORD_ATTEMPTS} attempts; nothing was created.`);
  }

  private async open(file: SigkeyFile): Promise<KeyObject> {
    let key = this.opened.get(file.publicKey);
    if (!key) {
      key = openSigkey(file, await this.password(`signature key '${file.name}'`));
      this.opened.set(file.publicKey, key);
    }
    return key;
  }

  private credentials(): Credentials {
    const accessKeyId = this.options.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = this.options.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new TkeError(
        "The management API needs one of the region's access keys: give --access-key-id and --secret-access-key or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
      );
    }
    return { accessKeyId, secretAccessKey };
  }
}
