import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/index.ts';
import type { CloudHsmService, SyncedKey } from './cloud-hsm-service.ts';
import { HSM_PATHS, type ClusterRecord } from './cluster-records.ts';
import type { HsmContents, HsmUser, HsmUserType } from './hsm-contents.ts';
import { deleteKey, findKeys, genKeyPair, genSymKey, keyAttributes, keyInfo } from './hsm-key-commands.ts';
import { keysOf, shareKey } from './hsm-keys.ts';
import { changePassword, createUser, deleteUser, HsmUserError, login, type HsmSessionUser } from './hsm-users.ts';

/** Why the HSM shell endpoint refuses a request: the surface names each in its own format. */
export type HsmShellErrorKind = 'NoSuchHsm' | 'NotLoggedIn' | 'LoginFailed' | 'InvalidCommand';

export class HsmShellError extends Error {
  constructor(
    readonly kind: HsmShellErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HsmShellError';
  }
}

/** An HSM as the shells address it: by its HSM ID or its ENI IP, as DescribeClusters shows them. */
export interface HsmAddress {
  clusterId: string;
  hsmId: string;
  eniIp: string;
}

/** Who acts on which HSM, as a request reveals it: the HSM once located, then its user (at a login, the user it tries, when there is one). */
export interface HsmShellActor {
  clusterId: string;
  hsmId: string;
  user?: { id?: number; name: string; type: HsmUserType };
}

/** Told each time a request reveals more of its actor, so that a refused request names what was known. */
export type ActorSeen = (actor: HsmShellActor) => void;

const ignore: ActorSeen = () => undefined;

interface SessionRecord extends HsmSessionUser {
  clusterId: string;
  hsmId: string;
  name: string;
  type: HsmUserType;
  expiresAt: number;
}

const SESSIONS = 'hsm/sessions/';
/** A shell session lasts a working day; logoutHSM ends it sooner, and so do a new password and a lockout. */
const SESSION_MS = 12 * 60 * 60 * 1000;
const USER_TYPES: readonly HsmUserType[] = ['PRECO', 'CO', 'CU', 'AU'];

type Args = Record<string, unknown>;
type Answer = Record<string, unknown>;
type Command = (hsm: HsmAddress, session: SessionRecord, args: Args) => Promise<Answer>;

const sessionPath = (token: string): string => `${SESSIONS}${createHash('sha256').update(token).digest('hex')}`;

/**
 * What the management and key shells do on an HSM: open sessions with an HSM user's password
 * (each failure counted, lockout as the HSM does it), then run each command as that user, whose
 * type decides what it may do. Sessions are stored, by the hash of their token only, so every
 * node of a region knows them.
 */
export class HsmShell {
  private readonly commands: Record<string, Command>;

  constructor(
    private readonly clusters: CloudHsmService,
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    const asUser = <T>(session: SessionRecord, work: (contents: HsmContents, user: HsmUser) => T): Promise<T> =>
      this.clusters.asUser(session.clusterId, session, work);
    this.commands = {
      logout: async (_hsm, _session, args) => {
        await this.store.transaction((tx) => {
          tx.delete(sessionPath(text(args, 'session')));
        });
        return {};
      },
      findAllKeys: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          if (!['CO', 'PCO', 'AU'].includes(user.type)) throw new HsmUserError('only crypto officers and appliance users run findAllKeys');
          const keys = keysOf(contents, integer(args, 'userId'));
          return { keys, ...(keys.length > 0 && args.hash === true ? { hash: keyHash(contents) } : {}) };
        }),
      getKeyInfo: (_hsm, session, args) => asUser(session, (contents, user) => keyInfo(contents, user, integer(args, 'handle'))),
      createUser: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          const type = userType(args);
          if (type === 'PRECO' || type === 'PCO') throw new HsmUserError('a precrypto officer is not created');
          return { userId: createUser(contents, user, type, text(args, 'name'), text(args, 'password')).id };
        }),
      deleteUser: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          const target = contents.users.find((u) => u.name === text(args, 'name'));
          if (target && !sameType(target.type, userType(args))) throw new HsmUserError(`user ${target.name} is a ${target.type}`);
          deleteUser(contents, user, text(args, 'name'));
          return {};
        }),
      changePswd: async (_hsm, session, args) => {
        const { activated, own } = await asUser(session, (contents, user) => {
          const target = contents.users.find((u) => u.name === text(args, 'name'));
          if (target && !sameType(target.type, userType(args))) throw new HsmUserError(`user ${target.name} is a ${target.type}`);
          const changed = changePassword(contents, user, text(args, 'name'), text(args, 'password'));
          return { ...changed, own: target?.id === user.id ? { salt: user.salt, type: user.type } : undefined };
        });
        // The session of the user who changed its own password goes on, with the new password.
        if (own) {
          await this.store.transaction((tx) => {
            tx.put(sessionPath(text(args, 'session')), JSON.stringify({ ...session, ...own }));
          });
        }
        return { activated };
      },
      shareKey: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          if (user.type !== 'CU') throw new HsmUserError('only a crypto user shares keys');
          shareKey(contents, user, integer(args, 'handle'), integers(args, 'userIds'), args.share === true);
          return {};
        }),
      exportKey: async (_hsm, session, args) => ({ synced: await this.clusters.exportKeyForSync(session.clusterId, session, integer(args, 'handle')) }),
      importKey: async (_hsm, session, args) => ({ handle: await this.clusters.importSyncedKey(session.clusterId, session, synced(args)) }),
      exportUser: async (_hsm, session, args) => ({ synced: await this.clusters.exportUserForSync(session.clusterId, session, integer(args, 'userId')) }),
      importUser: async (_hsm, session, args) => {
        await this.clusters.importSyncedUser(session.clusterId, session, synced(args));
        return {};
      },
      genSymKey: (_hsm, session, args) =>
        asUser(session, (contents, user) => ({
          handle: genSymKey(contents, user, {
            type: integer(args, 'keyType'),
            bytes: integer(args, 'size'),
            label: text(args, 'label'),
            ...optional(args),
          }),
        })),
      genKeyPair: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          const kind = args.kind === 'RSA' || args.kind === 'EC' ? args.kind : invalid('kind must be RSA or EC');
          return genKeyPair(contents, user, {
            kind,
            label: text(args, 'label'),
            ...(args.modulusBits !== undefined ? { modulusBits: integer(args, 'modulusBits') } : {}),
            ...(args.publicExponent !== undefined ? { publicExponent: integer(args, 'publicExponent') } : {}),
            ...(args.curve !== undefined ? { curve: integer(args, 'curve') } : {}),
            ...(args.id !== undefined ? { id: text(args, 'id') } : {}),
            ...(args.extractable === false ? { extractable: false } : {}),
          });
        }),
      findKey: (_hsm, session, args) =>
        asUser(session, (contents, user) => ({
          handles: findKeys(contents, user, {
            ...(args.keyType !== undefined ? { type: integer(args, 'keyType') } : {}),
            ...(args.keyClass !== undefined ? { class: integer(args, 'keyClass') } : {}),
            ...(args.label !== undefined ? { label: text(args, 'label') } : {}),
            ...(args.id !== undefined ? { id: text(args, 'id') } : {}),
            ...(args.userIds !== undefined ? { users: integers(args, 'userIds') } : {}),
          }),
        })),
      getAttribute: (_hsm, session, args) => asUser(session, (contents, user) => ({ attributes: keyAttributes(contents, user, integer(args, 'handle')) })),
      deleteKey: (_hsm, session, args) =>
        asUser(session, (contents, user) => {
          deleteKey(contents, user, integer(args, 'handle'));
          return {};
        }),
    };
  }

  /** The HSM `ref` names in this region: an HSM ID, or an ENI IP that only one HSM has. */
  async locate(ref: string, seen: ActorSeen = ignore): Promise<HsmAddress> {
    const found: HsmAddress[] = [];
    for (const entry of await this.store.list(HSM_PATHS.clusters)) {
      const cluster = JSON.parse(entry.value) as ClusterRecord;
      if (cluster.state === 'DELETED') continue;
      for (const hsm of cluster.hsms) {
        if (hsm.hsmId === ref || hsm.eniIp === ref) found.push({ clusterId: cluster.clusterId, hsmId: hsm.hsmId, eniIp: hsm.eniIp });
      }
    }
    if (found.length === 0) throw new HsmShellError('NoSuchHsm', `no HSM ${ref} in this region`);
    if (found.length > 1)
      throw new HsmShellError('InvalidCommand', `the ENI IP ${ref} is used by HSMs of several clusters in this region; name the HSM by its ID`);
    const hsm = found[0]!;
    seen({ clusterId: hsm.clusterId, hsmId: hsm.hsmId });
    return hsm;
  }

  /** listUsers: anyone may run it, logged in or not. */
  async listUsers(ref: string, seen: ActorSeen = ignore): Promise<Answer> {
    const hsm = await this.locate(ref, seen);
    const users = await this.clusters.onHsms(hsm.clusterId, (contents) =>
      contents.users.map((u) => ({ id: u.id, type: u.type, name: u.name, loginFailures: u.loginFailures })),
    );
    return { users };
  }

  /** loginHSM: a session on this HSM for the user, or a refusal; a wrong password is counted. */
  async login(ref: string, args: Args, seen: ActorSeen = ignore): Promise<Answer> {
    const hsm = await this.locate(ref, seen);
    const type = userType(args);
    const name = text(args, 'name');
    const password = text(args, 'password');
    const outcome = await this.clusters.onHsms(hsm.clusterId, (contents) => {
      // A refused login names the user it tried, if there is one: a name that is no user's may be a password typed in the wrong place.
      const tried = contents.users.find((u) => u.name === name);
      if (tried) seen({ clusterId: hsm.clusterId, hsmId: hsm.hsmId, user: { id: tried.id, name, type: tried.type } });
      return login(contents, type, name, password);
    });
    if (!outcome.user) throw new HsmShellError('LoginFailed', outcome.error ?? 'login failed');
    const token = randomBytes(32).toString('base64url');
    const { id, salt } = outcome.user;
    const record: SessionRecord = {
      clusterId: hsm.clusterId,
      hsmId: hsm.hsmId,
      userId: id,
      salt,
      name,
      type: outcome.user.type,
      expiresAt: this.now() + SESSION_MS,
    };
    await this.store.transaction((tx) => {
      tx.put(sessionPath(token), JSON.stringify(record));
    });
    return { session: token, user: { id, name, type: record.type } };
  }

  /** Deletes the sessions past their end; returns how many. */
  async purgeSessions(): Promise<number> {
    const now = this.now();
    const expired = (await this.store.list(SESSIONS)).filter((entry) => (JSON.parse(entry.value) as SessionRecord).expiresAt <= now);
    if (expired.length > 0) {
      await this.store.transaction((tx) => {
        for (const entry of expired) tx.delete(entry.key);
      });
    }
    return expired.length;
  }

  /** Whether `name` is a command sessions run. */
  knows(name: string): boolean {
    return Object.hasOwn(this.commands, name);
  }

  /** Runs a command of the session `token` opened on this HSM. */
  async run(ref: string, token: string | undefined, name: string, args: Args, seen: ActorSeen = ignore): Promise<Answer> {
    const command = this.knows(name) ? this.commands[name] : undefined;
    if (!command) throw new HsmShellError('InvalidCommand', `unknown command ${name}`);
    const hsm = await this.locate(ref, seen);
    const session = token === undefined ? undefined : await this.store.get(sessionPath(token));
    const record = session === undefined ? undefined : (JSON.parse(session) as SessionRecord);
    if (!record || record.hsmId !== hsm.hsmId || record.clusterId !== hsm.clusterId || record.expiresAt <= this.now()) {
      throw new HsmShellError('NotLoggedIn', 'not logged in to this HSM: run loginHSM first');
    }
    seen({ clusterId: hsm.clusterId, hsmId: hsm.hsmId, user: { id: record.userId, name: record.name, type: record.type } });
    return command(hsm, record, { ...args, session: token });
  }
}

const invalid = (message: string): never => {
  throw new HsmShellError('InvalidCommand', message);
};

function text(args: Args, name: string): string {
  const value = args[name];
  return typeof value === 'string' && value.length <= 4096 ? value : invalid(`${name} must be a string`);
}

function integer(args: Args, name: string): number {
  const value = args[name];
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : invalid(`${name} must be an integer`);
}

function integers(args: Args, name: string): number[] {
  const value = args[name];
  return Array.isArray(value) && value.length <= 1024 && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))
    ? (value as number[])
    : invalid(`${name} must be a list of integers`);
}

function userType(args: Args): HsmUserType {
  const type = args.type;
  return typeof type === 'string' && (USER_TYPES as readonly string[]).includes(type) ? (type as HsmUserType) : invalid('the user type is PRECO, CO, CU or AU');
}

const sameType = (actual: HsmUserType, given: HsmUserType): boolean =>
  actual === given || (given === 'CO' && actual === 'PCO') || (given === 'PRECO' && actual === 'PCO');

function synced(args: Args): SyncedKey {
  const value = args.synced as Partial<SyncedKey> | undefined;
  if (typeof value?.lineageId !== 'string' || typeof value.sealed !== 'string' || value.sealed.length > 512 * 1024)
    invalid('synced must be what the source HSM exported');
  return { lineageId: value!.lineageId!, sealed: value!.sealed! };
}

function optional(args: Args): { id?: string; extractable?: boolean; shareWith?: number[] } {
  return {
    ...(args.id !== undefined ? { id: text(args, 'id') } : {}),
    ...(args.extractable === false ? { extractable: false } : {}),
    ...(args.shareWith !== undefined ? { shareWith: integers(args, 'shareWith') } : {}),
  };
}

/** findAllKeys' key hash: SHA-256 over every key's handle, owner and sharing, the same for every user who owns or shares a key. */
function keyHash(contents: HsmContents): string {
  const data = [...contents.keys].sort((a, b) => a.handle - b.handle).map((key) => [key.handle, key.owner, [...key.sharedWith].sort((a, b) => a - b)]);
  return createHash('sha256').update(JSON.stringify(data)).digest('hex');
}
