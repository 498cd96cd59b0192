import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, BIN, freePorts, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { isolatedAwsEnv } from './isolated-aws-env.ts';
import { openSigkey, readSigkey } from '../../src/cryptounits/index.ts';
import { eventually } from './eventually.ts';
import { tkeOk } from './tke-harness.ts';

const run = promisify(execFile);

/** Runs `concord <args>` to its end, for commands expected to stop by themselves. */
function concord(args: string[], env = process.env): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`concord ${args.join(' ')} did not stop:\n${stderr}`));
    }, 30000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function waitForHealth(endpoint: string): Promise<void> {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/healthz`)).ok) return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${endpoint} never became healthy`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the AWS CLI against concord dev', () => {
  let dev: DevDeployment;
  let dir: string;
  const aws = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('aws', ['kms', ...args, '--endpoint-url', dev.endpoint(), '--region', 'us-east-1', '--output', 'json'], {
      env: isolatedAwsEnv(dir, { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY }),
    });
    return stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concord-cli-'));
    dev = await startDev({ regions: ['us-east-1'] });
  });
  after(async () => {
    await dev.stop();
  });

  it('creates a key, encrypts a file, decrypts it and lists the key', async () => {
    const created = JSON.parse(await aws('create-key', '--description', 'from the AWS CLI')) as {
      KeyMetadata: { KeyId: string; Arn: string; Description: string };
    };
    assert.equal(created.KeyMetadata.Description, 'from the AWS CLI');
    const plaintext = Buffer.from('plaintext that went through the AWS CLI\n');
    writeFileSync(join(dir, 'plain.txt'), plaintext);

    const encrypted = JSON.parse(
      await aws('encrypt', '--key-id', created.KeyMetadata.KeyId, '--plaintext', `fileb://${join(dir, 'plain.txt')}`, '--encryption-context', 'app=cli'),
    ) as { CiphertextBlob: string; KeyId: string };
    assert.equal(encrypted.KeyId, created.KeyMetadata.Arn);
    writeFileSync(join(dir, 'cipher.bin'), Buffer.from(encrypted.CiphertextBlob, 'base64'));

    const decrypted = JSON.parse(await aws('decrypt', '--ciphertext-blob', `fileb://${join(dir, 'cipher.bin')}`, '--encryption-context', 'app=cli')) as {
      Plaintext: string;
      KeyId: string;
    };
    assert.deepEqual(Buffer.from(decrypted.Plaintext, 'base64'), plaintext);
    assert.equal(decrypted.KeyId, created.KeyMetadata.Arn);

    const listed = JSON.parse(await aws('list-keys')) as { Keys: { KeyId: string }[] };
    assert.ok(listed.Keys.some((k) => k.KeyId === created.KeyMetadata.KeyId));
  });

  it('prints a shell block that, pasted as it is, points the AWS CLI at the deployment', async () => {
    const exported = dev
      .banner()
      .split('\n')
      .find((line) => line.startsWith('export AWS_ACCESS_KEY_ID='));
    assert.ok(exported, dev.banner());
    const { stdout } = await run('sh', ['-c', `${exported}\naws kms list-keys --output json`], {
      env: isolatedAwsEnv(dir),
    });
    assert.ok(Array.isArray((JSON.parse(stdout) as { Keys: unknown }).Keys));
    assert.match(dev.banner(), /provider "aws" \{\n {2}region = "us-east-1"\n {2}endpoints \{\n {4}kms = "http:\/\/127\.0\.0\.1:\d+"\n {4}sts = /);
  });

  it('logs JSON lines when standard output is not a terminal', () => {
    const lines = dev.output().trim().split('\n');
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(typeof (JSON.parse(line) as { msg: unknown }).msg, 'string');
  });

  it('shows the AWS error name when the CLI is refused', async () => {
    await assert.rejects(aws('describe-key', '--key-id', 'alias/not-there'), (error: { stderr: string }) => {
      assert.match(error.stderr, /NotFoundException/);
      return true;
    });
  });
});

describe('concord server --config', () => {
  const account = '444455556666';
  const credentials = { accessKeyId: 'AKIACONFIGSERVER0001', secretAccessKey: 'config-server-secret-access-key' };
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'concord-server-'));
  });

  /** Crypto units for configurations refused before any unit is opened. */
  const UNITS_NEVER_OPENED =
    'cryptoUnits: { units: [{ id: op-1, role: operational, kind: software, dir: /tmp/never-op }, { id: rec-1, role: recovery, kind: software, dir: /tmp/never-rec }] }';

  const writeConfig = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('serves one region from a YAML file and stops cleanly on SIGTERM', async () => {
    const port = await freePorts(1);
    const password = 'ops signature key password';
    await tkeOk(join(dir, 'tke'), ['sigkey-add', '--name', 'ops'], password);
    const config = writeConfig(
      'region.yaml',
      [
        'region: eu-central-1',
        `account: "${account}"`,
        'listen:',
        '  host: 127.0.0.1',
        `  port: ${port}`,
        'store:',
        '  kind: sqlite',
        `  path: ${join(dir, 'data', 'keys.db')}`,
        'cryptoUnits:',
        '  autoInit: true',
        `  administrators: [{ name: ops, sigkeyFile: ${join(dir, 'tke', 'sigkeys', 'ops.json')}, password: ${password} }]`,
        '  units:',
        `    - { id: op-1, role: operational, kind: software, dir: ${join(dir, 'data', 'op-1')} }`,
        `    - { id: rec-1, role: recovery, kind: software, dir: ${join(dir, 'data', 'rec-1')} }`,
        'accessKeys:',
        `  - accessKeyId: ${credentials.accessKeyId}`,
        `    secretAccessKey: ${credentials.secretAccessKey}`,
        `    principal: arn:aws:iam::${account}:user/ops`,
        'principals:',
        `  - arn: arn:aws:iam::${account}:user/ops`,
        '    identityPolicies:',
        '      - Statement: [{ Effect: Allow, Action: "kms:*", Resource: "*" }]',
        'logLevel: warn',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, 'server', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    try {
      const endpoint = `http://127.0.0.1:${port}`;
      await waitForHealth(endpoint);
      const kms = new KMSClient({ region: 'eu-central-1', endpoint, credentials, maxAttempts: 1 });
      const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
      assert.equal(key.Arn, `arn:aws:kms:eu-central-1:${account}:key/${key.KeyId}`);
      assert.equal(key.AWSAccountId, account);
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('configured') }));
      assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'configured');
      const otherRegion = new KMSClient({ region: 'us-east-1', endpoint, credentials, maxAttempts: 1 });
      await assert.rejects(otherRegion.send(new CreateKeyCommand({})), { name: 'InvalidSignatureException' });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('refuses a config whose account is not 12 digits, naming the field', async () => {
    const config = writeConfig(
      'bad-account.yaml',
      [
        'region: eu-central-1',
        'account: "12"',
        'store: { kind: sqlite, path: /tmp/never.db }',
        UNITS_NEVER_OPENED,
        `accessKeys: [{ accessKeyId: ${credentials.accessKeyId}, secretAccessKey: ${credentials.secretAccessKey}, principal: "arn:aws:iam::${account}:user/ops" }]`,
        '',
      ].join('\n'),
    );
    const { code, stderr } = await concord(['server', '--config', config]);
    assert.notEqual(code, 0);
    assert.match(stderr, /account/);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/);
  });

  it('refuses a config missing a required field or carrying an unknown one, naming it', async () => {
    const missing = writeConfig('missing-store.yaml', `region: eu-central-1\naccount: "${account}"\n${UNITS_NEVER_OPENED}\naccessKeys: []\n`);
    const first = await concord(['server', '--config', missing]);
    assert.notEqual(first.code, 0);
    assert.match(first.stderr, /store/);

    const unknown = writeConfig(
      'unknown-field.yaml',
      [
        'region: eu-central-1',
        `account: "${account}"`,
        'store: { kind: sqlite, path: /tmp/never.db }',
        UNITS_NEVER_OPENED,
        `accessKeys: [{ accessKeyId: ${credentials.accessKeyId}, secretAccessKey: ${credentials.secretAccessKey}, principal: "arn:aws:iam::${account}:user/ops" }]`,
        'colour: blue',
        '',
      ].join('\n'),
    );
    const second = await concord(['server', '--config', unknown]);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /colour/);
  });

  it('prints its version', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--version']);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
  });

  it('warns at start when the region has no usable master key, naming the concord tke commands that give it one', async () => {
    const port = await freePorts(1);
    const config = (name: string, db: string) =>
      writeConfig(
        name,
        [
          'region: eu-central-1',
          `account: "${account}"`,
          `listen: { host: 127.0.0.1, port: ${port} }`,
          `store: { kind: sqlite, path: ${join(dir, db, 'keys.db')} }`,
          `cryptoUnits: { units: [{ id: op-1, role: operational, kind: software, dir: ${join(dir, db, 'op-1')} }, { id: rec-1, role: recovery, kind: software, dir: ${join(dir, db, 'rec-1')} }] }`,
          `accessKeys: [{ accessKeyId: ${credentials.accessKeyId}, secretAccessKey: ${credentials.secretAccessKey}, principal: "arn:aws:iam::${account}:root" }]`,
          '',
        ].join('\n'),
      );
    const path = config('no-master-key.yaml', 'no-master-key');
    const child = spawn(process.execPath, [BIN, 'server', '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    try {
      await eventually(() => {
        const warning = log
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { level: number; msg: string })
          .find((entry) => entry.msg.startsWith('no usable master key'));
        assert.ok(warning, log);
        assert.equal(warning.level, 40);
        assert.match(warning.msg, new RegExp(`concord tke cryptounit-add --endpoint http://127\\.0\\.0\\.1:${port} --all`));
        assert.match(warning.msg, /concord tke auto-init/);
      });

      // While it runs: a second process on the same database, then on the same port, each refused in one line.
      const held = await concord(['server', '--config', path]);
      assert.equal(held.code, 1);
      assert.equal(held.stderr.trim().split('\n').length, 1, held.stderr);
      assert.match(held.stderr, /^concord: region eu-central-1 cannot use its SQLite database .*keys\.db: another process holds it/);
      const taken = await concord(['server', '--config', config('same-port.yaml', 'same-port')]);
      assert.equal(taken.code, 1);
      assert.equal(taken.stderr.trim().split('\n').length, 1, taken.stderr);
      assert.match(taken.stderr, new RegExp(`^concord: region eu-central-1 cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      child.kill('SIGTERM');
    }
    await exited;
  });

  it('refuses a PKCS#11 unit whose token refuses the PIN in one line naming the unit and the token', async () => {
    const hsm = join(dir, 'softhsm');
    mkdirSync(join(hsm, 'tokens'), { recursive: true });
    writeFileSync(join(hsm, 'softhsm2.conf'), `directories.tokendir = ${join(hsm, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { ...process.env, SOFTHSM2_CONF: join(hsm, 'softhsm2.conf') };
    await run('softhsm2-util', ['--init-token', '--free', '--label', 'concord-cli', '--pin', '1234', '--so-pin', '5678'], { env });
    const config = writeConfig(
      'wrong-pin.yaml',
      [
        'region: eu-central-1',
        `account: "${account}"`,
        `store: { kind: sqlite, path: ${join(dir, 'wrong-pin', 'keys.db')} }`,
        'cryptoUnits:',
        '  units:',
        '    - { id: hsm-op, role: operational, kind: pkcs11, module: /usr/lib/softhsm/libsofthsm2.so, tokenLabel: concord-cli, pin: "9999" }',
        `    - { id: rec-1, role: recovery, kind: software, dir: ${join(dir, 'wrong-pin', 'rec-1')} }`,
        `accessKeys: [{ accessKeyId: ${credentials.accessKeyId}, secretAccessKey: ${credentials.secretAccessKey}, principal: "arn:aws:iam::${account}:root" }]`,
        '',
      ].join('\n'),
    );
    const { code, stderr } = await concord(['server', '--config', config], env);
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(
      stderr,
      /^concord: crypto unit hsm-op \(PKCS#11 token 'concord-cli' in \/usr\/lib\/softhsm\/libsofthsm2\.so\) cannot be opened: the token refused the PIN/,
    );
    assert.doesNotMatch(stderr, /9999/);
  });

  it('names the concord dev option at fault, with the allowed values and no stack trace', async () => {
    const level = await concord(['dev', '--log-level', 'verbose', '--data', join(dir, 'dev-never')]);
    assert.equal(level.code, 2);
    assert.equal(
      level.stderr,
      "concord: invalid configuration: --log-level must be one of: fatal, error, warn, info, debug, trace, silent (it is 'verbose')\n",
    );
    const account = await concord(['dev', '--account', '12', '--data', join(dir, 'dev-never')]);
    assert.equal(account.stderr, 'concord: invalid configuration: --account must be an AWS account ID of 12 digits, such as "111122223333" (it is \'12\')\n');
    const regions = await concord(['dev', '--regions', 'us-east-1,useast', '--data', join(dir, 'dev-never')]);
    assert.match(regions.stderr, /^concord: invalid option: --regions must be a comma-separated list of region names .*\(it holds 'useast'\)\n$/);
    const prefill = await concord(['dev', '--key-pair-prefill', 'RSA_4096', 'ECC_NIST_P256', '--data', join(dir, 'dev-never')]);
    assert.equal(prefill.stderr, 'concord: invalid configuration: --key-pair-prefill must be one of: RSA_2048, RSA_3072, RSA_4096\n');
  });

  it('refuses a config file that does not exist or is not YAML', async () => {
    const absent = await concord(['server', '--config', join(dir, 'absent.yaml')]);
    assert.notEqual(absent.code, 0);
    assert.match(absent.stderr, /absent\.yaml/);
    const broken = await concord(['server', '--config', writeConfig('broken.yaml', 'region: [unclosed\n')]);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /YAML/);
  });
});

describe('concord dev on a terminal', () => {
  it('logs human-readable lines, not JSON, when standard output is a terminal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-tty-'));
    const port = await freePorts(1);
    // script(1) gives the command a pseudo-terminal and copies what it writes to our pipe.
    const command = [process.execPath, BIN, 'dev', '--regions', 'us-east-1', '--port', String(port), '--data', join(dir, 'data')].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    try {
      await eventually(() => {
        assert.match(output, /Concord dev deployment is running/);
      });
      await eventually(() => {
        assert.match(output, /INFO.*crypto units open/);
      });
      assert.doesNotMatch(output, /\{"level":/);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    await exited;
  });
});

describe('concord tke sigkey-add on a terminal', () => {
  it('asks for the password twice, asks again when the two differ, and seals the key under the one given twice', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'concord-tke-tty-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: workspace };
    const command = [process.execPath, BIN, 'tke', '--workspace', workspace, 'sigkey-add', '--name', 'alice'].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    /** Waits for the prompt to appear `count` times in all, then types the answer. */
    const answer = async (prompt: string, count: number, typed: string): Promise<void> => {
      await eventually(() => {
        assert.equal(output.split(prompt).length - 1, count, output);
      });
      child.stdin.write(`${typed}\r`);
    };
    try {
      await answer('Password for the new signature key', 1, 'first try');
      await answer('The same password again', 1, 'first tyr');
      await eventually(() => {
        assert.match(output, /The two passwords differ; once more\./);
      });
      await answer('Password for the new signature key', 2, 'second try');
      await answer('The same password again', 2, 'second try');
      assert.equal(await exited, 0, output);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    assert.match(output, /Signature key 'alice' created/);
    assert.doesNotMatch(output, /first try|second try/);
    const file = readSigkey(join(workspace, 'sigkeys', 'alice.json'));
    assert.equal(openSigkey(file, 'second try').asymmetricKeyType, 'ec');
    assert.throws(() => openSigkey(file, 'first try'));
  });
});
