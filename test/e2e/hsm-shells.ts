import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudHSMV2Client,
  CreateClusterCommand,
  CreateHsmCommand,
  DescribeBackupsCommand,
  DescribeClustersCommand,
  InitializeClusterCommand,
  type Cluster,
} from '@aws-sdk/client-cloudhsm-v2';
import { ACCESS_KEY_ID, BIN, SECRET_ACCESS_KEY, type DevDeployment } from './harness.ts';

const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];

/** What a shell printed, and how it ended. */
export interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `concord hsm-mgmt` or `concord hsm-keys` with the commands fed on stdin, one a line. */
export function shell(tool: 'hsm-mgmt' | 'hsm-keys', conf: string, lines: string[], extra: string[] = []): Promise<ShellRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, tool, '--conf', conf, ...extra], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(lines.map((line) => `${line}\n`).join(''));
  });
}

/** A shell configuration: each server an HSM (ENI IP or HSM ID) and its region's endpoint, in this order. */
export function writeConf(dir: string, name: string, servers: { hostname: string; endpoint: string }[]): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ servers: servers.map((s) => ({ ...s, port: 2225, enable: 'yes' })) }, null, 2));
  return file;
}

/** The cluster API of a deployment, through the JS SDK. */
export class Clusters {
  constructor(
    private readonly dev: Pick<DevDeployment, 'endpoint'>,
    private readonly dir: string,
  ) {}

  client(region: string): CloudHSMV2Client {
    return new CloudHSMV2Client({
      region,
      endpoint: this.dev.endpoint(region),
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
  }

  async describe(region: string, clusterId: string): Promise<Cluster> {
    const { Clusters } = await this.client(region).send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    return Clusters![0]!;
  }

  async create(region: string, sourceBackupId?: string): Promise<string> {
    const { Cluster } = await this.client(region).send(
      new CreateClusterCommand({ HsmType: 'hsm2m.medium', SubnetIds: SUBNETS, ...(sourceBackupId !== undefined ? { SourceBackupId: sourceBackupId } : {}) }),
    );
    return Cluster!.ClusterId!;
  }

  async addHsm(region: string, clusterId: string, zone = `${region}a`): Promise<{ HsmId: string; EniIp: string }> {
    const { Hsm } = await this.client(region).send(new CreateHsmCommand({ ClusterId: clusterId, AvailabilityZone: zone }));
    return { HsmId: Hsm!.HsmId!, EniIp: Hsm!.EniIp! };
  }

  /**
   * A new cluster with one HSM in `zone`, initialized with its CSR signed by our own CA (openssl, one
   * CA for every cluster of this directory), as AWS's guide does it; `anchor` is the CA's PEM.
   */
  async initialized(region: string, zone?: string): Promise<{ clusterId: string; hsm: { HsmId: string; EniIp: string }; anchor: string }> {
    const clusterId = await this.create(region);
    const hsm = await this.addHsm(region, clusterId, zone);
    writeFileSync(join(this.dir, `${clusterId}.csr`), (await this.describe(region, clusterId)).Certificates!.ClusterCsr!);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
    if (!existsSync(join(this.dir, 'ca.crt'))) {
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=Our CA');
    }
    openssl('x509', '-req', '-in', `${clusterId}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${clusterId}.crt`, '-days', '3650');
    const read = (file: string) => readFileSync(join(this.dir, file), 'utf8');
    const anchor = read('ca.crt');
    await this.client(region).send(new InitializeClusterCommand({ ClusterId: clusterId, SignedCert: read(`${clusterId}.crt`), TrustAnchor: anchor }));
    return { clusterId, hsm, anchor };
  }

  /**
   * An initialized cluster activated with `concord hsm-mgmt` on stdin (the precrypto officer admin
   * takes `officerPassword`, then creates the crypto users), then given HSMs in the other `zones`;
   * `conf` is the shell configuration naming its first HSM.
   */
  async activated(
    region: string,
    zones: string[],
    officerPassword: string,
    users: [name: string, password: string][],
  ): Promise<{ clusterId: string; anchor: string; conf: string }> {
    const { clusterId, hsm, anchor } = await this.initialized(region, zones[0]);
    const conf = writeConf(this.dir, `${clusterId}.cfg`, [{ hostname: hsm.HsmId, endpoint: this.dev.endpoint(region) }]);
    const run = await shell('hsm-mgmt', conf, [
      'loginHSM PRECO admin password',
      `changePswd PRECO admin ${officerPassword}`,
      'y',
      ...users.flatMap(([name, password]) => [`createUser CU ${name} ${password}`, 'y']),
      'quit',
    ]);
    if (run.code !== 0 || run.stdout.split('createUser success').length !== users.length + 1) throw new Error(`activation failed:\n${run.stdout}${run.stderr}`);
    for (const zone of zones.slice(1)) await this.addHsm(region, clusterId, zone);
    return { clusterId, anchor, conf };
  }

  /** A cluster of the same lineage as `sourceId`: made from the backup another HSM there takes, holding its users and keys, with HSMs in `zones`. */
  async cloned(region: string, sourceId: string, zones: string[]): Promise<string> {
    await this.addHsm(region, sourceId, zones[0]);
    const { Backups } = await this.client(region).send(new DescribeBackupsCommand({ Filters: { clusterIds: [sourceId] } }));
    const newest = Backups!.reduce((a, b) => (b.CreateTimestamp!.getTime() > a.CreateTimestamp!.getTime() ? b : a));
    const clusterId = await this.create(region, newest.BackupId);
    for (const zone of zones) await this.addHsm(region, clusterId, zone);
    return clusterId;
  }
}

/** An answer of the HSM shell endpoint. */
export interface HsmAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/** A request to an HSM as the shells send it (POST /hsm/v1/hsms/<hsm>/<path>), with a session token or none. */
export async function hsmCall(endpoint: string, hsm: string, path: string, body: Record<string, unknown>, token?: string): Promise<HsmAnswer> {
  const response = await fetch(`${endpoint}/hsm/v1/hsms/${hsm}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
}

/** A session of an HSM user, or a thrown error. */
export async function hsmLogin(endpoint: string, hsm: string, type: string, name: string, password: string): Promise<string> {
  const answer = await hsmCall(endpoint, hsm, 'login', { type, name, password });
  if (answer.status !== 200) throw new Error(`login of ${name} failed: ${answer.text}`);
  return answer.body.session as string;
}

/** Activates an initialized cluster (the precrypto officer admin takes `officerPassword`) and creates crypto users. */
export async function activate(endpoint: string, hsm: string, officerPassword: string, users: [name: string, password: string][]): Promise<void> {
  const preco = await hsmLogin(endpoint, hsm, 'PRECO', 'admin', 'password');
  const commands: [string, Record<string, unknown>][] = [
    ['changePswd', { type: 'PRECO', name: 'admin', password: officerPassword }],
    ...users.map(([name, password]): [string, Record<string, unknown>] => ['createUser', { type: 'CU', name, password }]),
  ];
  for (const [name, args] of commands) {
    const answer = await hsmCall(endpoint, hsm, `commands/${name}`, args, preco);
    if (answer.status !== 200) throw new Error(`${name} failed: ${answer.text}`);
  }
}
