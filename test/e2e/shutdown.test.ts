import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, freePorts, SECRET_ACCESS_KEY, startDev } from './harness.ts';
import { alive } from './server-process.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

const answers = (endpoint: string): Promise<boolean> =>
  fetch(`${endpoint}/healthz`).then(
    () => true,
    () => false,
  );

describe('stopping a region', () => {
  it('stops the server when a supervisor sends SIGTERM to the process npm start made', async () => {
    const data = mkdtempSync(join(tmpdir(), 'concord-npm-start-'));
    const port = await freePorts(1);
    const npm = spawn(
      'npm',
      [
        'start',
        '--',
        '--regions',
        'us-east-1',
        '--port',
        String(port),
        '--data',
        data,
        '--access-key-id',
        ACCESS_KEY_ID,
        '--secret-access-key',
        SECRET_ACCESS_KEY,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let servers: number[] = [];
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        npm.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('Concord dev deployment is running')) resolve();
        });
        npm.once('exit', (code) => {
          reject(new Error(`npm start exited with ${code}:\n${stderr}`));
        });
      });
      servers = execFileSync('pgrep', ['-f', `concord\\.js dev .*${data}`])
        .toString()
        .trim()
        .split('\n')
        .map(Number);
      assert.equal(servers.length, 1, `one process runs the server, not a shell and the server: ${servers.join(' ')}`);
      assert.equal(await answers(`http://127.0.0.1:${port}`), true);

      const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
      npm.kill('SIGTERM');
      await exited;
      assert.equal(alive(servers[0]!), false, 'the server outlived npm');
      assert.equal(await answers(`http://127.0.0.1:${port}`), false);
    } finally {
      for (const pid of [npm.pid!, ...servers]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      npm.stderr.destroy();
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('writes the request line of every request it answered before SIGTERM, though the log is written asynchronously', async () => {
    const dev = await startDev({ regions: ['us-east-1'] });
    try {
      const kms = dev.client();
      const KeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const requests = 200;
      await Promise.all(Array.from({ length: requests }, (_, i) => kms.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from(`line ${i}`) }))));
      assert.equal(await dev.stop('SIGTERM'), 0);
      // The process has exited; what it wrote last may still be in the pipe.
      await eventually(() => {
        const lines = dev
          .output()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { msg: string; operation?: string });
        // Every request line is written before the stop begins; what the stop writes (the audit trail's last signed head) follows.
        const stopping = lines.findIndex((line) => line.msg === 'stopping');
        assert.ok(stopping >= 0, 'no stopping line');
        assert.equal(lines.slice(0, stopping).filter((line) => line.msg === 'request' && line.operation === 'Encrypt').length, requests);
      });
    } finally {
      await dev.stop();
      rmSync(dev.dataDir, { recursive: true, force: true });
    }
  });

  it('answers a request already begun when SIGTERM arrives, then exits', async () => {
    const dev = await startDev({ regions: ['us-east-1'] });
    try {
      const KeyId = (await dev.client().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const url = new URL(dev.endpoint());
      const body = JSON.stringify({ KeyId, Plaintext: Buffer.from('in flight').toString('base64') });
      const signer = new SignatureV4({
        service: 'kms',
        region: 'us-east-1',
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
        sha256: NodeSha256,
      });
      const { headers } = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        query: {},
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'TrentService.Encrypt',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      });
      const exited = new Promise<number | null>((resolve) => {
        const poll = setInterval(() => {
          if (!alive(dev.pid())) {
            clearInterval(poll);
            resolve(null);
          }
        }, 50);
      });
      // With Expect: 100-continue the server says when it holds the request; the body follows the signal.
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const sent = request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, expect: '100-continue' } }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => {
            resolve({ status: response.statusCode!, text });
          });
        });
        sent.on('error', reject);
        sent.on('continue', () => {
          process.kill(dev.pid(), 'SIGTERM');
          setTimeout(() => sent.end(body), 200);
        });
        sent.flushHeaders();
      });
      assert.equal(answer.status, 200, answer.text);
      assert.ok((JSON.parse(answer.text) as { CiphertextBlob?: string }).CiphertextBlob);
      await exited;
      await eventually(() => {
        assert.match(dev.output(), /"signal":"SIGTERM","msg":"stopping"/);
      });
    } finally {
      await dev.stop();
      rmSync(dev.dataDir, { recursive: true, force: true });
    }
  });
});
