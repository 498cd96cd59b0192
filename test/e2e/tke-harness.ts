import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { createSigkey } from '../../src/cryptounits/index.ts';
import { ACCESS_KEY_ID, BIN, freePorts, SECRET_ACCESS_KEY, type DevDeployment } from './harness.ts';
import { regionClient, startServerProcess, stopProcess, writeRegionConfig } from './server-process.ts';

export interface TkeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `concord tke <args>` with a workspace, the region's access key and a signature key
 * password: to its end, or until its stderr matches `killWhen`, when it is SIGKILLed.
 */
export function tke(workspace: string, args: string[], password = 'correct horse battery staple', killWhen?: RegExp): Promise<TkeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'tke', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CONCORD_TKE_WORKSPACE: workspace,
        CONCORD_TKE_PASSWORD: password,
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killWhen?.test(stderr)) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`concord tke ${args.join(' ')} did not stop:\n${stderr}`));
    }, 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `concord tke` and fails with its output unless it succeeds. */
export async function tkeOk(workspace: string, args: string[], password?: string): Promise<string> {
  const result = await tke(workspace, args, password);
  if (result.code !== 0) throw new Error(`concord tke ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

export interface ServerRegion {
  endpoint: string;
  port: number;
  client(): KMSClient;
  stop(): Promise<void>;
}

/**
 * One region as `concord server --config`, its crypto units configured by `crypto` ({cryptoUnits});
 * on a free port, or on `port` to come back where a workspace expects it.
 */
export async function startServerRegion(dir: string, region: string, crypto: Record<string, unknown>, port?: number): Promise<ServerRegion> {
  port ??= await freePorts(1);
  const endpoint = `http://127.0.0.1:${port}`;
  const child = await startServerProcess(writeRegionConfig(dir, region, port, { ...crypto, logLevel: 'warn' }), endpoint);
  return {
    endpoint,
    port,
    client: () => regionClient(region, endpoint),
    stop: () => stopProcess(child, 'SIGTERM'),
  };
}

/** Software crypto units for a region: one operational and one recovery unit, with `ceremony` settings (administrators, autoInit, ...). */
export const softwareUnits = (dir: string, region: string, ceremony: Record<string, unknown> = {}) => ({
  cryptoUnits: {
    ...ceremony,
    units: [
      { id: `${region}-op`, role: 'operational', kind: 'software', dir: join(dir, region, 'units', 'op') },
      { id: `${region}-rec`, role: 'recovery', kind: 'software', dir: join(dir, region, 'units', 'rec') },
    ],
  },
});

const REGION_ADMIN = 'region-admin';
const REGION_ADMIN_PASSWORD = 'region admin password';

/**
 * Software crypto units that the region takes through the ceremony and gives a master key as it
 * starts (autoInit), signing as an administrator whose signature key file, in `dir`, it holds:
 * for tests that need a region serving keys and no ceremony of their own.
 */
export function selfInitialisingUnits(dir: string, region: string) {
  const sigkeyFile = join(dir, `${REGION_ADMIN}.json`);
  if (!existsSync(sigkeyFile)) writeFileSync(sigkeyFile, JSON.stringify(createSigkey(REGION_ADMIN, REGION_ADMIN_PASSWORD)), { mode: 0o600 });
  return softwareUnits(dir, region, { autoInit: true, administrators: [{ name: REGION_ADMIN, sigkeyFile, password: REGION_ADMIN_PASSWORD }] });
}

/** The crypto unit administrator of a `concord dev`: its `concord tke` workspace, and the password it printed. */
export function devAdministrator(dev: DevDeployment): { workspace: string; password: string } {
  const password = /CONCORD_TKE_PASSWORD=(\S+)/.exec(dev.banner())?.[1];
  if (!password) throw new Error(`concord dev printed no signature key password:\n${dev.banner()}`);
  return { workspace: join(dev.dataDir, 'tke'), password };
}
