import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, freePorts } from './harness.ts';
import { isolatedAwsEnv } from './isolated-aws-env.ts';

/**
 * The README's commands run as written.
 *
 * Convention: every ```sh or ```bash block of README.md runs, in the README's order, in one bash
 * (`set -euo pipefail`, so the variables one block exports are there for the next) in a new
 * empty directory. A block whose info string says `no-run` after the language (```sh no-run) is
 * not run: the README's first block, `npm install && npm start` / `npm install && npm test`, is
 * one. Other languages (yaml, hcl, ini, json, text) are shown, never run. A command that keeps
 * running (a server) is started in the background with `&` by its block, which then waits for
 * its /healthz with curl; files an example uses are made by an earlier example.
 *
 * What the test supplies, as a reader's machine would: `concord` on the PATH (bin/concord.js),
 * `sudo -u postgres` (through runuser, for the PostgreSQL superuser), the local PostgreSQL
 * (scripts/test-postgres.sh starts it), and an AWS CLI with no profile of the caller's. The
 * README's ports (8080-8099) become free ports, so it runs beside other tests. Afterwards it stops
 * every process the blocks started (their process group) and drops the role and database the
 * README creates.
 */

const README = new URL('../../README.md', import.meta.url).pathname;
const REPOSITORY = new URL('../..', import.meta.url).pathname;
const PG_NAME = 'concord_eu';
const RUN_LIMIT_MS = 300_000;

interface Block {
  line: number;
  code: string;
}

/** The README's shell blocks, run or not. */
function shellBlocks(markdown: string): (Block & { run: boolean })[] {
  const blocks: (Block & { run: boolean })[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const [language, ...flags] = (lines[i]!.startsWith('```') ? lines[i]!.slice(3).trim() : '').split(/\s+/);
    if (language !== 'sh' && language !== 'bash') continue;
    const start = i;
    const code: string[] = [];
    while (++i < lines.length && !lines[i]!.startsWith('```')) code.push(lines[i]!);
    blocks.push({ line: start + 1, code: code.join('\n'), run: !flags.includes('no-run') });
  }
  return blocks;
}

const asPostgres = (sql: string): void => {
  execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { cwd: '/', stdio: 'pipe' });
};
const dropReadmeDatabase = (): void => {
  asPostgres(`DROP DATABASE IF EXISTS ${PG_NAME} WITH (FORCE)`);
  asPostgres(`DROP ROLE IF EXISTS ${PG_NAME}`);
};

describe('the README', () => {
  const markdown = readFileSync(README, 'utf8');
  const blocks = shellBlocks(markdown);
  let dir: string;
  let pid: number | undefined;
  let exited: Promise<void> = Promise.resolve();

  before(() => {
    execFileSync('bash', [join(REPOSITORY, 'scripts/test-postgres.sh')], { stdio: 'ignore' });
    dropReadmeDatabase();
    dir = mkdtempSync(join(tmpdir(), 'concord-readme-'));
  });
  after(async () => {
    if (pid !== undefined) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // Every process of the group has ended already.
      }
    }
    await exited;
    dropReadmeDatabase();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens with exactly two commands, which the docs test does not run', () => {
    const [first] = blocks;
    assert.equal(first?.run, false);
    assert.deepEqual(
      first.code.split('\n').map((line) => line.replace(/\s+#.*$/, '')),
      ['npm install && npm start', 'npm install && npm test'],
    );
    assert.ok(markdown.startsWith('# Concord\n\n```sh no-run\n'));
  });

  it('runs every other shell block as written, in order, against a fresh deployment', async () => {
    const base = await freePorts(20);
    const shims = join(dir, '.shims');
    mkdirSync(shims);
    writeFileSync(join(shims, 'concord'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
    // Only `sudo -u USER command...`, as the README uses it.
    writeFileSync(join(shims, 'sudo'), '#!/bin/sh\n[ "$1" = -u ] || exit 64\nuser=$2\nshift 2\ncd /\nexec runuser -u "$user" -- "$@"\n');
    chmodSync(join(shims, 'concord'), 0o755);
    chmodSync(join(shims, 'sudo'), 0o755);
    const work = join(dir, 'work');
    mkdirSync(work);
    const script = blocks
      .filter((block) => block.run)
      .map(
        ({ line, code }) =>
          `echo "### README.md line ${line} (\$SECONDS s)" >&2\n${code.replace(/\b80([89]\d)\b/g, (_, n: string) => String(base + Number(n) - 80))}`,
      )
      .join('\n');
    writeFileSync(join(dir, 'readme.sh'), script);

    const child = spawn('bash', ['-euo', 'pipefail', join(dir, 'readme.sh')], {
      cwd: work,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: isolatedAwsEnv(dir, { PATH: `${shims}:${process.env.PATH ?? ''}`, LANG: 'C.UTF-8' }),
    });
    pid = child.pid;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A block waiting for a server that never comes would wait for ever: the run is stopped, and fails, after RUN_LIMIT_MS.
    const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), RUN_LIMIT_MS);
    const code = await new Promise<number | null>((resolve) => {
      exited = new Promise((done) =>
        child.once('exit', () => {
          done();
        }),
      );
      child.once('exit', (exitCode) => {
        resolve(exitCode);
      });
    });
    clearTimeout(limit);
    const logs = readdirSync(work)
      .filter((name) => name.endsWith('.log'))
      .map((name) => `--- ${name} (last lines)\n${readFileSync(join(work, name), 'utf8').trim().split('\n').slice(-5).join('\n')}`);
    assert.equal(code, 0, `a README block failed (the last "### README.md line" names it):\n${output}\n${logs.join('\n')}`);
    // The secret went through concord dev, then through a multi-Region key from us-east-1 to us-west-2.
    assert.equal(output.match(/^a secret$/gm)?.length, 2, output);
    assert.match(readFileSync(join(work, 'dev-banner.txt'), 'utf8'), /^export AWS_ACCESS_KEY_ID=AKIADEVADMIN00000001 /m);
  });
});
