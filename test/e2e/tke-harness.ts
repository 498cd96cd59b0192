import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { stringify } from 'yaml';
import { ACCESS_KEY_ID, ACCOUNT, BIN, freePorts, SECRET_ACCESS_KEY } from './harness.ts';

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
export async function tkeOk(workspace: string, args: string[]): Promise<string> {
  const result = await tke(workspace, args);
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
 * One region as `concord server --config`, its crypto units configured by `crypto` ({cryptoUnits}
 * or {cryptoUnit}); on a free port, or on `port` to come back where a workspace expects it.
 */
export async function startServerRegion(dir: string, region: string, crypto: Record<string, unknown>, port?: number): Promise<ServerRegion> {
  port ??= await freePorts(1);
  const endpoint = `http://127.0.0.1:${port}`;
  const configPath = join(dir, `${region}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      region,
      account: ACCOUNT,
      listen: { host: '127.0.0.1', port },
      store: { kind: 'sqlite', path: join(dir, region, 'keys.db') },
      ...crypto,
      accessKeys: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, principal: `arn:aws:iam::${ACCOUNT}:root` }],
      logLevel: 'warn',
    }),
  );
  const child: ChildProcess = spawn(process.execPath, [BIN, 'server', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`concord server for ${region} exited:\n${stderr}`);
    try {
      if ((await fetch(`${endpoint}/healthz`)).ok) break;
    } catch {
      if (Date.now() > deadline) throw new Error(`concord server for ${region} never became healthy:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    port,
    client: () => new KMSClient({ region, endpoint, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1 }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Software crypto units for a region: one operational and one recovery unit. */
export const softwareUnits = (dir: string, region: string, autoInit = false) => ({
  cryptoUnits: {
    autoInit,
    units: [
      { id: `${region}-op`, role: 'operational', kind: 'software', dir: join(dir, region, 'units', 'op') },
      { id: `${region}-rec`, role: 'recovery', kind: 'software', dir: join(dir, region, 'units', 'rec') },
    ],
  },
});
