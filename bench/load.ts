import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { JsonRequestSigner, sha256Hex, type Credentials } from './sign.ts';

/** One AWS JSON request, repeated by the load generator. */
export interface LoadTarget {
  url: string;
  region: string;
  /** The X-Amz-Target header, e.g. TrentService.Encrypt. */
  target: string;
  body: Record<string, unknown>;
}

export interface LoadSpec extends LoadTarget {
  credentials: Credentials;
  connections: number;
  seconds: number;
  /** Run before measuring, so JIT warm-up and connection set-up are not counted. */
  warmupSeconds: number;
}

export interface LoadResult {
  requests: number;
  /** Responses other than 200 during the measured window. */
  errors: number;
  firstError?: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

interface Response {
  status: number;
  text: string;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { agent, hostname: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(body.length) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends one signed request and returns the parsed JSON answer; anything but 200 throws. */
export async function send(target: LoadTarget, credentials: Credentials): Promise<Record<string, any>> {
  const url = new URL(target.url);
  const body = Buffer.from(JSON.stringify(target.body));
  const headers = new JsonRequestSigner(credentials, target.region).sign(url.host, target.target, sha256Hex(body));
  const agent = new http.Agent();
  try {
    const response = await post(agent, url, headers, body);
    if (response.status !== 200) throw new Error(`${target.target} answered ${response.status}: ${response.text}`);
    return JSON.parse(response.text);
  } finally {
    agent.destroy();
  }
}

/**
 * Keeps `connections` requests in flight over keep-alive sockets for a fixed time, signing
 * each request afresh, and measures throughput and latency.
 */
export async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const body = Buffer.from(JSON.stringify(spec.body));
  const bodyHash = sha256Hex(body);
  const signer = new JsonRequestSigner(spec.credentials, spec.region);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let recording = false;
  let running = true;

  const worker = async (): Promise<void> => {
    while (running) {
      const start = performance.now();
      const response = await post(agent, url, signer.sign(url.host, spec.target, bodyHash), body);
      if (!recording) continue;
      latencies.push(performance.now() - start);
      if (response.status !== 200) {
        errors += 1;
        firstError ??= `${response.status} ${response.text.slice(0, 300)}`;
      }
    }
  };

  const workers = Array.from({ length: spec.connections }, worker);
  await sleep(spec.warmupSeconds * 1000);
  recording = true;
  const started = performance.now();
  await sleep(spec.seconds * 1000);
  recording = false;
  const elapsed = (performance.now() - started) / 1000;
  running = false;
  await Promise.all(workers);
  agent.destroy();

  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    reqPerSec: latencies.length / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Run as its own process (argv[2]: a LoadSpec as JSON), it prints a LoadResult as JSON. */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await generateLoad(JSON.parse(process.argv[2]!) as LoadSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
