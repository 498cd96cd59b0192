import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './harness.ts';

const run = promisify(execFile);

/** Where PostgreSQL's server programs are (PostgreSQL 15 on Debian unless PG_BINDIR says otherwise). */
export const PG_BINDIR = process.env.PG_BINDIR ?? '/usr/lib/postgresql/15/bin';

export const postgresInstalled = (): boolean => existsSync(join(PG_BINDIR, 'initdb'));

export interface PrivatePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Suspends (SIGSTOP) or resumes (SIGCONT) the server and every backend: a database that hangs without closing a connection. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of a test's own, in a temporary directory on a free port, so the test
 * can stop and restart it without disturbing other tests using the machine's cluster.
 * PostgreSQL refuses to run as root, so as root it runs as the postgres user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const [uid, gid] = (await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])).map((r) => Number(r.stdout));
    chownSync(dir, uid!, gid!);
  }
  const pg = (program: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BINDIR, program), ...args]) : run(join(PG_BINDIR, program), args);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  // Below Linux's ephemeral range (32768 and up), so no outgoing connection takes the port while the server is down.
  let port = await freePorts(1);
  while (port >= 32768) port = await freePorts(1);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const start = async () => {
    try {
      await pg('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    } catch (error) {
      throw new Error(`the private PostgreSQL server did not start: ${(error as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    }
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
  };
  const signal = async (name: 'SIGSTOP' | 'SIGCONT') => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = (await run('pgrep', ['-P', String(postmaster)])).stdout.split('\n').filter(Boolean).map(Number);
    process.kill(postmaster, name);
    for (const pid of children) {
      try {
        process.kill(pid, name);
      } catch (error) {
        // A backend that ended since pgrep listed it needs no signal.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    signal,
    async destroy() {
      await signal('SIGCONT').catch(() => undefined);
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
