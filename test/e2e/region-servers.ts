import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { BIN, freePorts } from './harness.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';
import { selfInitialisingUnits } from './tke-harness.ts';

export interface RegionServers {
  client(region: string): KMSClient;
  /** The region's API endpoint. */
  endpoint(region: string): string;
  /** Stops a region's process (SIGKILL: no goodbye to anyone). */
  kill(region: string): Promise<void>;
  start(region: string): Promise<void>;
  /** SIGSTOP freezes a region with its connections open; SIGCONT thaws it. */
  signal(region: string, signal: 'SIGSTOP' | 'SIGCONT'): void;
  output(region: string): string;
  /** The region's public identity key, as `concord identity` prints it. */
  publicKey(region: string): string;
  stopAll(): Promise<void>;
}

/**
 * Each region as its own `concord server --config` process, configured the way an operator
 * would: every region's public key, printed by `concord identity`, in its peers' configuration;
 * `more` goes into every region's configuration besides.
 */
export async function startRegionServers(regions: string[], more: Record<string, unknown> = {}): Promise<RegionServers> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-regions-'));
  const base = await freePorts(regions.length);
  const url = (region: string) => `http://127.0.0.1:${base + regions.indexOf(region)}`;
  const writeConfig = (region: string, peers: Record<string, { url: string; publicKey: string }>) =>
    writeRegionConfig(dir, region, base + regions.indexOf(region), {
      ...selfInitialisingUnits(dir, region),
      peers,
      logLevel: 'info',
      backgroundIntervalMs: 500,
      ...more,
    });

  const publicKeys: Record<string, string> = {};
  for (const region of regions) {
    publicKeys[region] = execFileSync(process.execPath, [BIN, 'identity', '--config', writeConfig(region, {})], { encoding: 'utf8' }).trim();
  }
  const configPaths = new Map<string, string>();
  for (const region of regions) {
    const peers = Object.fromEntries(regions.filter((r) => r !== region).map((r) => [r, { url: url(r), publicKey: publicKeys[r]! }]));
    configPaths.set(region, writeConfig(region, peers));
  }

  const children = new Map<string, ChildProcess>();
  const outputs = new Map<string, string>();
  const start = async (region: string): Promise<void> => {
    const onStdout = (chunk: string) => outputs.set(region, (outputs.get(region) ?? '') + chunk);
    children.set(region, await startServerProcess(configPaths.get(region)!, url(region), onStdout));
  };
  const kill = async (region: string): Promise<void> => {
    const child = children.get(region);
    if (child) await stopProcess(child, 'SIGKILL');
  };

  for (const region of regions) await start(region);
  return {
    client: (region) => regionClient(region, url(region)),
    endpoint: url,
    kill,
    start,
    signal: (region, signal) => void children.get(region)?.kill(signal),
    output: (region) => outputs.get(region) ?? '',
    publicKey: (region) => publicKeys[region]!,
    async stopAll() {
      await Promise.all(regions.map(kill));
    },
  };
}
