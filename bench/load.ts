import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JsonRequestSigner, sha256Hex, type Credentials } from './sign.ts';

/** One AWS JSON request, repeated by the load generator. */
export interface LoadTarget {
  url: string;
  region: string;
  /** The X-Amz-Target header, e.g. TrentService.Encrypt. */
  target: string;
  body: Record<string, unknown>;
  /** The serving process, whose CPU time per request is then reported too (Linux). */
  pid?: number;
  /** Its worker processes (node:cluster), whose CPU time counts with the primary's. */
  workerPids?: number[];
}

export interface LoadSpec extends LoadTarget {
  credentials: Credentials;
  connections: number;
  seconds: number;
  /** Run before measuring, so JIT warm-up and connection set-up are not counted. */
  warmupSeconds: number;
}

export interface AlternatingSpec {
  targets: LoadTarget[];
  credentials: Credentials;
  connections: number;
  /** Measured time per target, split into `slices` runs. */
  seconds: number;
  slices: number;
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
  /** CPU time of the load generator per request, to show it is not what limits the server. */
  clientCpuMicrosPerRequest: number;
  /** CPU time of the target's process per request, when its pid is known: unlike req/s, it hardly moves with other load on the machine. */
  serverCpuMicrosPerRequest?: number;
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
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends one signed request and returns the parsed JSON answer; anything but 200 throws. */
export async function send(target: LoadTarget, credentials: Credentials): Promise<Record<string, unknown>> {
  const url = new URL(target.url);
  const body = Buffer.from(JSON.stringify(target.body));
  const headers = new JsonRequestSigner(credentials, target.region).sign(url.host, target.target, sha256Hex(body));
  const agent = new http.Agent();
  try {
    const response = await post(agent, url, headers, body);
    if (response.status !== 200) throw new Error(`${target.target} answered ${response.status}: ${response.text}`);
    return JSON.parse(response.text) as Record<string, unknown>;
  } finally {
    agent.destroy();
  }
}

/** Drives one target: `connections` requests in flight over keep-alive sockets, each signed afresh. */
class Driver {
  private readonly url: URL;
  private readonly body: Buffer;
  private readonly bodyHash: string;
  private readonly signer: JsonRequestSigner;
  private readonly agent: http.Agent;
  private readonly latencies: number[] = [];
  private errors = 0;
  private firstError: string | undefined;
  private measuredMs = 0;
  private cpuMicros = 0;
  private serverCpuMicros = 0;

  constructor(
    private readonly target: LoadTarget,
    credentials: Credentials,
    private readonly connections: number,
  ) {
    this.url = new URL(target.url);
    this.body = Buffer.from(JSON.stringify(target.body));
    this.bodyHash = sha256Hex(this.body);
    this.signer = new JsonRequestSigner(credentials, target.region);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  /**
   * Runs for `seconds`; only a measured run counts its requests, time and this process's CPU,
   * and the server's CPU unless the caller counts it over a longer span (countServerCpu).
   */
  async run(seconds: number, measured: boolean, serverCpuCounted = measured): Promise<void> {
    let recording = measured;
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const start = performance.now();
        const response = await post(this.agent, this.url, this.signer.sign(this.url.host, this.target.target, this.bodyHash), this.body);
        if (!recording) continue;
        this.latencies.push(performance.now() - start);
        if (response.status !== 200) {
          this.errors += 1;
          this.firstError ??= `${response.status} ${response.text.slice(0, 300)}`;
        }
      }
    };
    const started = performance.now();
    const cpu = process.cpuUsage();
    const serverCpu = processCpuMicros(this.target);
    const workers = Array.from({ length: this.connections }, worker);
    await sleep(seconds * 1000);
    recording = false;
    if (measured) {
      const used = process.cpuUsage(cpu);
      this.measuredMs += performance.now() - started;
      this.cpuMicros += used.user + used.system;
      if (serverCpuCounted) this.serverCpuMicros += processCpuMicros(this.target) - serverCpu;
    }
    running = false;
    await Promise.all(workers);
  }

  /** The target's server CPU so far, in µs. */
  serverCpu(): number {
    return processCpuMicros(this.target);
  }

  countServerCpu(micros: number): void {
    this.serverCpuMicros += micros;
  }

  result(): LoadResult {
    this.agent.destroy();
    const latencies = [...this.latencies].sort((a, b) => a - b);
    return {
      requests: latencies.length,
      errors: this.errors,
      ...(this.firstError === undefined ? {} : { firstError: this.firstError }),
      reqPerSec: latencies.length / (this.measuredMs / 1000),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      clientCpuMicrosPerRequest: this.cpuMicros / latencies.length,
      ...(this.target.pid === undefined ? {} : { serverCpuMicrosPerRequest: this.serverCpuMicros / latencies.length }),
    };
  }
}

/** Loads one target for a fixed time after a warm-up and measures throughput and latency. */
export async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const driver = new Driver(spec, spec.credentials, spec.connections);
  await driver.run(spec.warmupSeconds, false);
  await driver.run(spec.seconds, true);
  return driver.result();
}

/**
 * Loads several targets in turn, in `slices` short runs each, so that whatever else the
 * machine is doing weighs on all of them alike. Each target is measured `seconds` in total.
 */
export async function alternateLoad(spec: AlternatingSpec): Promise<LoadResult[]> {
  const drivers = spec.targets.map((target) => new Driver(target, spec.credentials, spec.connections));
  for (const driver of drivers) await driver.run(spec.warmupSeconds, false);
  // A server's CPU counts from its first measured slice to the end of the last, between its
  // slices too: work it defers (a timer's batch write, a collection) is its own cost, whenever
  // it runs, rather than lost while another target is measured.
  const serverCpuBefore = drivers.map((driver) => driver.serverCpu());
  for (let slice = 0; slice < spec.slices; slice++) {
    for (const driver of drivers) await driver.run(spec.seconds / spec.slices, true, false);
  }
  drivers.forEach((driver, i) => {
    driver.countServerCpu(driver.serverCpu() - serverCpuBefore[i]!);
  });
  return drivers.map((driver) => driver.result());
}

/** Runs generateLoad (LoadSpec) or alternateLoad (AlternatingSpec) in a child process of its own, so the caller's bookkeeping does not slow the load down. */
export function loadInChild(spec: LoadSpec): Promise<LoadResult>;
export function loadInChild(spec: AlternatingSpec): Promise<LoadResult[]>;
export async function loadInChild(spec: LoadSpec | AlternatingSpec): Promise<LoadResult | LoadResult[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(spec)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  return JSON.parse(output) as LoadResult | LoadResult[];
}

/** User and system CPU time of a target's processes from /proc (clock ticks of 10 ms); 0 without a pid. */
function processCpuMicros({ pid, workerPids = [] }: LoadTarget): number {
  if (pid === undefined) return 0;
  let micros = 0;
  for (const each of [pid, ...workerPids]) {
    const fields = readFileSync(`/proc/${each}/stat`, 'utf8').split(') ')[1]!.split(' ');
    micros += (Number(fields[11]) + Number(fields[12])) * 10_000;
  }
  return micros;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (sorted: number[], p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);

/**
 * Run as its own process (argv[2]: a LoadSpec or an AlternatingSpec as JSON), it prints the
 * LoadResult (or the LoadResult of each target) as JSON.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec | AlternatingSpec;
  const result = 'targets' in spec ? await alternateLoad(spec) : await generateLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
