import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';

export const ACCESS_KEY_ID = 'AKIACONCORDTEST0001';
export const SECRET_ACCESS_KEY = 'concord-test-secret-access-key-0001';
export const ACCOUNT = '111122223333';
const BIN = new URL('../../bin/concord.js', import.meta.url).pathname;

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with `count` free consecutive ports after it. */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
}

export interface DevDeployment {
  regions: string[];
  dataDir: string;
  endpoint(region?: string): string;
  client(region?: string, credentials?: { accessKeyId: string; secretAccessKey: string }): KMSClient;
  /** Everything the process wrote to stdout (its JSON log). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  restart(): Promise<void>;
}

/** Starts `concord dev` as a real child process and waits until every region listens. */
export async function startDev(options: { regions?: string[]; dataDir?: string; extraArgs?: string[] } = {}): Promise<DevDeployment> {
  const regions = options.regions ?? ['us-east-1', 'us-west-2'];
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'concord-e2e-'));
  const port = await freePorts(regions.length);
  let child: ChildProcess;
  let stdout = '';

  const launch = async (): Promise<void> => {
    child = spawn(
      process.execPath,
      [BIN, 'dev', '--regions', regions.join(','), '--port', String(port), '--data', dataDir,
        '--access-key-id', ACCESS_KEY_ID, '--secret-access-key', SECRET_ACCESS_KEY, ...(options.extraArgs ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`concord dev did not start:\n${stderr}`)), 30000);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Concord dev deployment is running')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`concord dev exited with ${code}:\n${stderr}`));
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  };

  await launch();
  const endpoint = (region = regions[0]!) => `http://127.0.0.1:${port + regions.indexOf(region)}`;
  return {
    regions,
    dataDir,
    endpoint,
    client: (region = regions[0]!, credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }) =>
      new KMSClient({ region, endpoint: endpoint(region), credentials, maxAttempts: 1 }),
    output: () => stdout,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}
