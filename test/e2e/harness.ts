import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/index.ts';

export const ACCESS_KEY_ID = 'AKIACONCORDTEST0001';
export const SECRET_ACCESS_KEY = 'concord-test-secret-access-key-0001';
export const ACCOUNT = '111122223333';
export const BIN = new URL('../../bin/concord.js', import.meta.url).pathname;

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () =>
      server.close(() => {
        resolve(true);
      }),
    );
  });
}

/**
 * Ports are drawn below Linux's ephemeral range (32768 and up), which the kernel hands to outgoing
 * connections and to `listen(0)`: a port drawn there could be taken by another test file's client
 * between the check and the server's start (a restarted region failed with EADDRINUSE on 48526).
 */
const PORTS_FROM = 20000;
const PORTS_BELOW = 32768;

/** A base port with `count` free consecutive ports after it. */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = PORTS_FROM + Math.floor(Math.random() * (PORTS_BELOW - count - PORTS_FROM));
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
  /** What it printed on stderr since it started: its banner (credentials, ...). */
  banner(): string;
  /** The process ID of the running `concord dev` (a restart changes it). */
  pid(): number;
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
  let stderr = '';

  const launch = async (): Promise<void> => {
    child = spawn(
      process.execPath,
      [
        BIN,
        'dev',
        '--regions',
        regions.join(','),
        '--port',
        String(port),
        '--data',
        dataDir,
        '--access-key-id',
        ACCESS_KEY_ID,
        '--secret-access-key',
        SECRET_ACCESS_KEY,
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`concord dev did not start:\n${stderr}`));
      }, 30000);
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
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
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
    banner: () => stderr,
    pid: () => child.pid!,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

export interface RawRequest {
  /** The X-Amz-Target operation name, e.g. 'Encrypt'; omitted for no X-Amz-Target header. */
  operation?: string;
  /** The service X-Amz-Target names the operation of; TrentService (AWS KMS) by default. */
  targetPrefix?: string;
  /** Headers sent but left out of the signature. */
  unsigned?: Record<string, string>;
  body?: string | Buffer;
  /** The body actually sent, when it should differ from the one signed. */
  sentBody?: string | Buffer;
  contentType?: string;
  region?: string;
  service?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  /** false sends the request without SigV4. */
  sign?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: { __type?: string; message?: string; [member: string]: unknown };
}

/** POST / as an AWS SDK would send it, signed with @smithy/signature-v4, through plain fetch. */
export async function rawRequest(endpoint: string, request: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(endpoint);
  const body = request.body ?? '{}';
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': request.contentType ?? 'application/x-amz-json-1.1',
    ...(request.operation !== undefined ? { 'x-amz-target': `${request.targetPrefix ?? 'TrentService'}.${request.operation}` } : {}),
  };
  let sent = headers;
  if (request.sign !== false) {
    const signer = new SignatureV4({
      service: request.service ?? 'kms',
      region: request.region ?? 'us-east-1',
      credentials: request.credentials ?? { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      sha256: NodeSha256,
    });
    const signed = await signer.sign(
      { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body },
      request.signingDate ? { signingDate: request.signingDate } : {},
    );
    sent = signed.headers;
  }
  const { host: _host, ...fetchHeaders } = { ...sent, ...request.unsigned };
  const response = await fetch(url, { method: 'POST', headers: fetchHeaders, body: new Uint8Array(Buffer.from(request.sentBody ?? body)) });
  const text = await response.text();
  let json: RawResponse['json'] = {};
  try {
    json = JSON.parse(text) as RawResponse['json'];
  } catch {
    json = {};
  }
  return { status: response.status, headers: response.headers, text, json };
}
