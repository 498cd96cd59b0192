import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { stringify } from 'yaml';
import { ACCESS_KEY_ID, ACCOUNT, BIN, freePorts, SECRET_ACCESS_KEY } from './harness.ts';

export interface RegionServers {
  client(region: string): KMSClient;
  /** Stops a region's process (SIGKILL: no goodbye to anyone). */
  kill(region: string): Promise<void>;
  start(region: string): Promise<void>;
  /** SIGSTOP freezes a region with its connections open; SIGCONT thaws it. */
  signal(region: string, signal: 'SIGSTOP' | 'SIGCONT'): void;
  output(region: string): string;
  stopAll(): Promise<void>;
}

/**
 * Each region as its own `concord server --config` process, configured the way an operator
 * would: every region's public key, printed by `concord identity`, in its peers' configuration.
 */
export async function startRegionServers(regions: string[]): Promise<RegionServers> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-regions-'));
  const base = await freePorts(regions.length);
  const url = (region: string) => `http://127.0.0.1:${base + regions.indexOf(region)}`;
  const configPath = (region: string) => join(dir, `${region}.yaml`);
  const config = (region: string, peers: Record<string, { url: string; publicKey: string }>) => ({
    region,
    account: ACCOUNT,
    listen: { host: '127.0.0.1', port: base + regions.indexOf(region) },
    store: { kind: 'sqlite', path: join(dir, region, 'keys.db') },
    cryptoUnit: { kind: 'software', path: join(dir, region, 'crypto-unit.json') },
    accessKeys: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, principal: `arn:aws:iam::${ACCOUNT}:root` }],
    peers,
    logLevel: 'info',
    backgroundIntervalMs: 500,
  });

  const publicKeys: Record<string, string> = {};
  for (const region of regions) {
    writeFileSync(configPath(region), stringify(config(region, {})));
    publicKeys[region] = execFileSync(process.execPath, [BIN, 'identity', '--config', configPath(region)], { encoding: 'utf8' }).trim();
  }
  for (const region of regions) {
    const peers = Object.fromEntries(regions.filter((r) => r !== region).map((r) => [r, { url: url(r), publicKey: publicKeys[r]! }]));
    writeFileSync(configPath(region), stringify(config(region, peers)));
  }

  const children = new Map<string, ChildProcess>();
  const outputs = new Map<string, string>();
  const start = async (region: string): Promise<void> => {
    const child = spawn(process.execPath, [BIN, 'server', '--config', configPath(region)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(region, child);
    child.stdout!.on('data', (chunk: Buffer) => outputs.set(region, (outputs.get(region) ?? '') + chunk.toString()));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`concord server for ${region} exited:\n${stderr}`);
      try {
        if ((await fetch(`${url(region)}/healthz`)).ok) return;
      } catch {
        if (Date.now() > deadline) throw new Error(`concord server for ${region} never became healthy:\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const kill = async (region: string): Promise<void> => {
    const child = children.get(region);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  for (const region of regions) await start(region);
  return {
    client: (region) => new KMSClient({ region, endpoint: url(region), credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1 }),
    kill,
    start,
    signal: (region, signal) => void children.get(region)?.kill(signal),
    output: (region) => outputs.get(region) ?? '',
    async stopAll() {
      await Promise.all(regions.map(kill));
    },
  };
}
