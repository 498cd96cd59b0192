import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY_ID, BIN, freePorts, SECRET_ACCESS_KEY } from '../test/e2e/harness.ts';
import { generateLoad, send, type LoadTarget } from './load.ts';

/**
 * `npm run bench:profile`: where a request's server time goes. Starts `concord dev` (one
 * region, the compiled build: run `npm run build` first) under `node --cpu-prof`, drives one
 * operation at it as `npm run bench` does (32 connections, each request signed afresh), stops
 * it with SIGTERM and prints the profile's heaviest functions, by self time and by total time
 * (a function and everything it calls), in µs per request and in % of the profiled CPU time.
 * PROFILE_OPERATION: Encrypt (default), Decrypt or GenerateDataKey; PROFILE_SECONDS (10);
 * PROFILE_LOG_LEVEL (warn); PROFILE_TOP (25). The .cpuprofile is kept for Chrome DevTools.
 */
const OPERATION = process.env.PROFILE_OPERATION ?? 'Encrypt';
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);
const LOG_LEVEL = process.env.PROFILE_LOG_LEVEL ?? 'warn';
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const REGION = 'us-east-1';
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

const work = mkdtempSync(join(tmpdir(), 'concord-profile-'));
const port = await freePorts(1);
const server = spawn(
  process.execPath,
  [
    '--trace-gc',
    '--cpu-prof',
    '--cpu-prof-dir',
    work,
    BIN,
    'dev',
    '--regions',
    REGION,
    '--port',
    String(port),
    '--data',
    join(work, 'data'),
    '--access-key-id',
    ACCESS_KEY_ID,
    '--secret-access-key',
    SECRET_ACCESS_KEY,
    '--log-level',
    LOG_LEVEL,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
/** GC pauses (--trace-gc lines on stdout) as they arrive, kept only while the measured run goes on. */
const pauses: { kind: string; ms: number }[] = [];
let measuring = false;
let pending = '';
server.stdout.on('data', (chunk: Buffer) => {
  const lines = (pending + String(chunk)).split('\n');
  pending = lines.pop()!;
  for (const line of lines) {
    const gc = /ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)\b.*?MB, ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (gc && measuring) pauses.push({ kind: gc[1]!, ms: Number(gc[2]) });
  }
});
// Read on, not stopped at the banner: a closed pipe would fail the server's next write to stderr.
let banner = '';
await new Promise<void>((resolve, reject) => {
  server.stderr.on('data', (chunk: Buffer) => {
    banner += String(chunk);
    if (banner.includes('Concord dev deployment is running')) resolve();
  });
  server.once('exit', (code) => {
    reject(new Error(`concord dev exited with ${code}:\n${banner}`));
  });
});

const url = `http://127.0.0.1:${port}`;
const target = (operation: string, body: Record<string, unknown>): LoadTarget => ({
  url,
  region: REGION,
  target: `TrentService.${operation}`,
  body,
  pid: server.pid!,
});
const KeyId = ((await send(target('CreateKey', {}), credentials)).KeyMetadata as { KeyId: string }).KeyId;
const Plaintext = Buffer.alloc(4096, 7).toString('base64');
const bodies: Record<string, () => Promise<Record<string, unknown>>> = {
  Encrypt: () => Promise.resolve({ KeyId, Plaintext }),
  Decrypt: async () => ({ CiphertextBlob: (await send(target('Encrypt', { KeyId, Plaintext }), credentials)).CiphertextBlob }),
  GenerateDataKey: () => Promise.resolve({ KeyId, KeySpec: 'AES_256' }),
};
const body = bodies[OPERATION];
if (!body) throw new Error(`PROFILE_OPERATION must be one of ${Object.keys(bodies).join(', ')}`);

// Unlike `npm run bench`, the load runs in this process, which notes when the measured run starts and ends on the
// monotonic clock that the profile's timestamps count too, so start-up and warm-up are left out of the summary.
const load = { ...target(OPERATION, await body()), credentials, connections: 32, warmupSeconds: 0 };
await generateLoad({ ...load, seconds: 2 });
const measuredFrom = Number(process.hrtime.bigint() / 1000n);
measuring = true;
const result = await generateLoad({ ...load, seconds: SECONDS });
measuring = false;
const measuredTo = Number(process.hrtime.bigint() / 1000n);
server.kill('SIGTERM');
await once(server, 'exit');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
const file = readdirSync(work).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('the server wrote no profile');
const profile = JSON.parse(readFileSync(join(work, file), 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const IDLE = new Set(['(idle)', '(program)', '(root)']);
const label = ({ callFrame: { functionName, url: source, lineNumber } }: ProfileNode): string => {
  const where = source.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '');
  return `${functionName || '(anonymous)'} ${where ? `${where.replace(/^.*\/(src|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
};
/** Where a function lives: Concord's folder, a package, node's module, or native code. */
const place = ({ callFrame: { functionName, url: source } }: ProfileNode): string => {
  if (source === '') return `native ${functionName}`;
  if (source.startsWith('node:')) return source.replace(/^node:(internal\/)?([^/]+).*$/, 'node:$2');
  const modules = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(source);
  return modules ? modules[1]! : source.replace(/^.*\/(src|dist)\//, '$1/').replace(/\/[^/]*$/, '/');
};
const places = new Map<string, number>();
const self = new Map<string, number>();
const total = new Map<string, number>();
let busy = 0;
/** Gaps between samples: the profiler samples every millisecond or so; a longer gap is time the thread did not run. */
const gaps: number[] = [];
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const micros = profile.timeDeltas[i] ?? 0;
  at += micros;
  if (at < measuredFrom || at > measuredTo) return;
  gaps.push(micros);
  if (IDLE.has(node.callFrame.functionName)) return;
  busy += micros;
  self.set(label(node), (self.get(label(node)) ?? 0) + micros);
  places.set(place(node), (places.get(place(node)) ?? 0) + micros);
  const seen = new Set<string>();
  for (let frame: number | undefined = id; frame !== undefined; frame = parent.get(frame)) {
    const name = label(byId.get(frame)!);
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + micros);
  }
});

const served = result.requests;
const table = (title: string, times: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...times].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(micros / served).toFixed(1).padStart(8)} µs  ${((100 * micros) / busy).toFixed(1).padStart(5)} %  ${name}`);
  }
};
console.log(
  `${OPERATION}: ${result.reqPerSec.toFixed(0)} req/s, p50/p99 ${result.p50Ms.toFixed(1)}/${result.p99Ms.toFixed(1)} ms, ` +
    `${result.serverCpuMicrosPerRequest?.toFixed(0)} µs server CPU per request (profiler on); ${(busy / served).toFixed(0)} µs of samples (wall clock on the JS thread) per request`,
);
const perKind = new Map<string, number[]>();
for (const { kind, ms } of pauses) perKind.set(kind, [...(perKind.get(kind) ?? []), ms]);
for (const [kind, ms] of perKind) {
  const sorted = ms.sort((a, b) => a - b);
  console.log(
    `${kind}: ${sorted.length} pauses (one per ${(served / sorted.length).toFixed(0)} requests), ` +
      `${((1000 * sorted.reduce((a, b) => a + b, 0)) / served).toFixed(1)} µs per request, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`,
  );
}
const longGaps = gaps.filter((micros) => micros > 5000);
console.log(
  `Sampling gaps over 5 ms (the thread waited for a core, or a native call held it): ${longGaps.length}, ` +
    `${(longGaps.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} ms of ${((measuredTo - measuredFrom) / 1000).toFixed(0)} ms, longest ${(Math.max(0, ...gaps) / 1000).toFixed(1)} ms`,
);
table('self time by place', places);
table('self time', self);
table('total time (the function and what it calls)', total);
rmSync(join(work, 'data'), { recursive: true, force: true });
console.log(`\nProfile: ${join(work, file)}`);
