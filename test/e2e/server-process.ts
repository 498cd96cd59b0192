import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { stringify } from 'yaml';
import { ACCESS_KEY_ID, ACCOUNT, BIN, SECRET_ACCESS_KEY } from './harness.ts';

/**
 * What the suite's regions prefill of the RSA key pair pool: nothing. The suite starts many
 * servers, and most never take an RSA pair; metrics.test.ts tests the prefill.
 */
export const SUITE_KEY_PAIR_POOL = { keyPairPool: { prefill: [] } };

/**
 * Writes `<dir>/<region>.yaml` as an operator would: the region on 127.0.0.1:`port`, a SQLite
 * store under `<dir>/<region>/`, the test access key for the account root, and `more` (crypto
 * units, peers, log level, ...), with no RSA key pairs prefilled unless `more` says. Returns the file's path.
 */
export function writeRegionConfig(dir: string, region: string, port: number, more: Record<string, unknown>): string {
  const path = join(dir, `${region}.yaml`);
  writeFileSync(
    path,
    stringify({
      region,
      account: ACCOUNT,
      listen: { host: '127.0.0.1', port },
      store: { kind: 'sqlite', path: join(dir, region, 'keys.db') },
      accessKeys: [{ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, principal: `arn:aws:iam::${ACCOUNT}:root` }],
      ...SUITE_KEY_PAIR_POOL,
      ...more,
    }),
  );
  return path;
}

/**
 * Starts `concord server --config` and waits until it answers /healthz (killing it if it never does); `onStdout` receives its log.
 * One worker process unless told otherwise: it keeps the suite light, and workers.test.ts tests several.
 */
export async function startServerProcess(configPath: string, endpoint: string, onStdout?: (chunk: string) => void, workers = 1): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'server', '--config', configPath, '--workers', String(workers)], {
    stdio: ['ignore', onStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  if (onStdout)
    child.stdout!.on('data', (chunk: Buffer) => {
      onStdout(chunk.toString());
    });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`concord server --config ${configPath} exited:\n${stderr}`);
    try {
      if ((await fetch(`${endpoint}/healthz`)).ok) return child;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`concord server --config ${configPath} never became healthy:\n${stderr}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sends `signal` to a process still running and waits until it has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

export const regionClient = (region: string, endpoint: string): KMSClient =>
  new KMSClient({ region, endpoint, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, maxAttempts: 1 });

/** Whether a process with this pid is still running. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
