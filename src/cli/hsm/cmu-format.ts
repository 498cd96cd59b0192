/** cloudhsm_mgmt_util's output, byte for byte as AWS's pages show it. */

export interface UserRow {
  id: number;
  type: string;
  name: string;
  loginFailures: number;
}

/** listUsers for one server. Concord's users have no quorum key and no second factor: MofnPubKey and 2FA are NO. */
export function listUsersText(label: string, users: readonly UserRow[]): string {
  const rows = users.map(
    (u) =>
      `${String(u.id).padStart(10)}${' '.repeat(14)}${u.type.padEnd(16)}${u.name.padEnd(20)}${'NO'.padStart(9)}${String(u.loginFailures).padStart(16)}${'NO'.padStart(17)}\n`,
  );
  return `Users on ${label}:\nNumber of users found:${users.length}\n\n    User Id             User Type       User Name            MofnPubKey    LoginFailureCnt         2FA\n${rows.join('')}`;
}

/** findAllKeys for one server: handles with (o) owned or (s) shared, the key hash when asked and there is one. */
export function findAllKeysText(label: string, keys: readonly { handle: number; relation: string }[], hash: string | undefined): string {
  const list = keys.map((key) => `${key.handle}(${key.relation})`).join(',');
  const hashLines = hash === undefined ? '' : `Key Hash:\n${hash}\n\n`;
  return `Keys on ${label}:\nNumber of keys found ${keys.length}\nnumber of keys matched from start index 0::${keys.length}\n${list}\n${hashLines}findAllKeys success on ${label}\n${hash === undefined ? '\n' : ''}`;
}

/** getKeyInfo for one server. */
export function keyInfoText(label: string, info: { token: boolean; owner: number; sharedWith: readonly number[] }): string {
  const shared =
    info.sharedWith.length === 0
      ? '\n'
      : `\n        also, shared to following ${info.sharedWith.length} user(s):\n\n${info.sharedWith.map((id) => `                 ${id}\n`).join('')}`;
  return `Key Info on ${label}:\n\n        ${info.token ? 'Token/Flash Key' : 'Session Key'},\n\n        Owned by user ${info.owner}\n${shared}`;
}

/** info server N. */
export function serverInfoText(
  index: number,
  hostname: string,
  port: number,
  connected: boolean,
  partition: string,
  user?: { name: string; type: string },
): string {
  const login = user ? `Logged in as '${user.name}(${user.type})'` : 'Not logged in';
  const row = `${String(index).padEnd(8)}${hostname.padEnd(24)}${hostname.padEnd(16)}${String(port).padEnd(8)}${(connected ? 'Connected' : 'Disconnected').padEnd(16)}${partition.padEnd(24)}${login}`;
  return `Id      Name                    Hostname         Port   State           Partition               LoginState\n${row}\n`;
}

export const CAUTION = `*************************CAUTION********************************
This is a CRITICAL operation, should be done on all nodes in the
cluster. AWS does NOT synchronize these changes automatically with the
nodes on which this operation is not executed or failed, please
ensure this operation is executed on all nodes in the cluster.
****************************************************************
`;
