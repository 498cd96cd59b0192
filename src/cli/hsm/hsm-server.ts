import { readFileSync } from 'node:fs';

/** An HSM of the shell's configuration file, numbered in file order (server 0, server 1, ...). */
export interface HsmServerConfig {
  /** The HSM's ENI IP (as cloudhsm_mgmt_util's configuration has it) or its HSM ID. */
  hostname: string;
  port: number;
  /** The Concord region endpoint that serves the HSM's cluster, e.g. http://127.0.0.1:8080. */
  endpoint: string;
}

/** Something the shell says instead of doing: a bad configuration, an HSM that refused, a server that cannot be reached. */
export class HsmShellRefusal extends Error {
  constructor(
    message: string,
    readonly code = 'Refused',
  ) {
    super(message);
    this.name = 'HsmShellRefusal';
  }
}

/**
 * The configuration file of cloudhsm_mgmt_util with one addition: each server names the
 * `endpoint` of the region that serves its cluster. `{"servers": [{"hostname": "10.0.0.10",
 * "port": 2225, "endpoint": "http://127.0.0.1:8080"}, ...]}`; other members are ignored.
 */
export function loadServers(file: string): HsmServerConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HsmShellRefusal(`cannot read the configuration ${file}: ${(error as Error).message}`);
  }
  const servers = (parsed as { servers?: unknown } | null)?.servers;
  if (!Array.isArray(servers) || servers.length === 0) throw new HsmShellRefusal(`${file} lists no servers`);
  return servers.map((server: unknown, i) => {
    const { hostname, port, endpoint } = (server ?? {}) as Record<string, unknown>;
    if (typeof hostname !== 'string' || hostname === '') throw new HsmShellRefusal(`server ${i} of ${file} has no hostname`);
    if (typeof endpoint !== 'string' || !/^https?:\/\//.test(endpoint)) throw new HsmShellRefusal(`server ${i} of ${file} has no endpoint (http://host:port)`);
    return { hostname, port: typeof port === 'number' ? port : 2225, endpoint: endpoint.replace(/\/+$/, '') };
  });
}

/** A connection to one HSM through its region's /hsm/v1 endpoint: who it is, and the session logged in on it. */
export class HsmServer {
  hsmId = '';
  clusterId = '';
  connected = false;
  session: string | undefined;
  user: { id: number; name: string; type: string } | undefined;

  constructor(
    readonly index: number,
    readonly config: HsmServerConfig,
  ) {}

  /** How the shells name the server: server 0(10.0.0.10). */
  get label(): string {
    return `server ${this.index}(${this.config.hostname})`;
  }

  async connect(): Promise<void> {
    const hsm = (await this.post('describe', {})) as { hsmId: string; clusterId: string };
    this.hsmId = hsm.hsmId;
    this.clusterId = hsm.clusterId;
    this.connected = true;
  }

  async login(type: string, name: string, password: string): Promise<void> {
    const answer = (await this.post('login', { type, name, password })) as { session: string; user: HsmServer['user'] };
    this.session = answer.session;
    this.user = answer.user;
  }

  async logout(): Promise<void> {
    if (this.session === undefined) throw new HsmShellRefusal('not logged in');
    await this.command('logout', {});
    this.session = undefined;
    this.user = undefined;
  }

  listUsers(): Promise<Record<string, unknown>> {
    return this.post('listUsers', {});
  }

  command(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.session === undefined) throw new HsmShellRefusal(`not logged in on ${this.label}`, 'NotLoggedIn');
    return this.post(`commands/${name}`, args);
  }

  private async post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const url = `${this.config.endpoint}/hsm/v1/hsms/${encodeURIComponent(this.config.hostname)}/${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.session !== undefined ? { authorization: `Bearer ${this.session}` } : {}) },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new HsmShellRefusal(`cannot reach ${this.config.endpoint}: ${(error as Error).message}`, 'Unreachable');
    }
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) throw new HsmShellRefusal(typeof answer.message === 'string' ? answer.message : `HTTP ${response.status}`, String(answer.error));
    return answer;
  }
}
