import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev } from '../test/e2e/harness.ts';
import { loadInChild, type LoadResult } from './load.ts';
import type { BenchEnv } from './scenario.ts';
import { scenarios } from './scenarios.ts';

/**
 * `npm run bench`: drives each scenario against a `concord dev` child process and against
 * a bare node:http ceiling, from a load generator in its own child process that alternates
 * between the two in slices, and reports throughput, latency and the ratio to the ceiling.
 * BENCH_SECONDS sets the measured time per target, BENCH_SLICES how many turns it is split
 * into; BENCH_SCENARIOS (comma-separated names or prefixes) picks scenarios; BENCH_LOG_LEVEL
 * sets the server's log level (warn by default; info writes a line per request).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SLICES = Number(process.env.BENCH_SLICES ?? 20);
const WARMUP_SECONDS = 2;
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const CONNECTIONS = 32;
const REGION = 'us-east-1';
const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = new URL('./results/latest.json', import.meta.url).pathname;
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

interface ScenarioResult {
  name: string;
  baseline?: string;
  subject: LoadResult;
  ceiling: LoadResult;
  /** Subject req/s over ceiling req/s. */
  ratio: number;
  /** Ceiling server CPU per request over subject server CPU per request, when both are known. */
  cpuRatio?: number;
}

const tsxProcess = (script: string, args: string[] = []): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });

async function startCeiling(): Promise<{ url: string; process: ChildProcess }> {
  const child = tsxProcess('./ceiling-server.ts');
  let output = '';
  for await (const chunk of child.stdout!) {
    output += String(chunk);
    const match = /listening (\d+)/.exec(output);
    if (match) return { url: `http://127.0.0.1:${match[1]}`, process: child };
  }
  throw new Error('the ceiling server exited before listening');
}

const selected = (name: string): boolean => {
  const wanted = process.env.BENCH_SCENARIOS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return !wanted || wanted.some((w) => name.startsWith(w));
};

const perRequestRatio = (ceiling: number | undefined, subject: number | undefined): number | undefined =>
  ceiling === undefined || subject === undefined || subject === 0 ? undefined : ceiling / subject;

function printTable(results: ScenarioResult[]): void {
  const rows = results.flatMap((r) => [
    [r.name, r.subject, r.ratio.toFixed(2), r.cpuRatio?.toFixed(2) ?? '-'] as const,
    [`${r.name} (${r.baseline ?? 'ceiling'})`, r.ceiling, '1.00', '1.00'] as const,
  ]);
  const width = Math.max(8, ...rows.map(([name]) => name.length));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(width) : cell.padStart(Math.max(9, cell.length)))).join('  ');
  const heading = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'server µs/req', 'cpu ratio', 'client µs/req', 'errors'];
  console.log(line(heading));
  for (const [name, result, ratio, cpuRatio] of rows) {
    const micros = (value: number | undefined) => value?.toFixed(0) ?? '-';
    const cells = [
      result.reqPerSec.toFixed(0),
      result.p50Ms.toFixed(2),
      result.p99Ms.toFixed(2),
      ratio,
      micros(result.serverCpuMicrosPerRequest),
      cpuRatio,
      micros(result.clientCpuMicrosPerRequest),
      String(result.errors),
    ];
    console.log(line([name, ...cells.map((cell, i) => cell.padStart(heading[i + 1]!.length))]));
  }
  for (const r of results) {
    for (const [side, result] of [
      ['', r.subject],
      [` (${r.baseline ?? 'ceiling'})`, r.ceiling],
    ] as const) {
      if (result.firstError) console.log(`${r.name}${side}: first error: ${result.firstError}`);
    }
  }
}

const cores = availableParallelism();
console.log(
  `${CONNECTIONS} connections, log level ${LOG_LEVEL}, ${SECONDS} s measured per target (in ${SLICES} turns, alternating with its ceiling) after ${WARMUP_SECONDS} s warm-up. ` +
    `The servers and the load generator (its own process) share ${cores} cores; load average before: ${loadavg()[0]!.toFixed(2)}. ` +
    'server and client µs/req are the CPU time per request of the server process and of the load generator; ' +
    'cpu ratio (ceiling server µs/req over subject server µs/req) moves far less with background load than req/s.',
);

const ceiling = await startCeiling();
const dev = await startDev({ regions: [REGION], extraArgs: ['--log-level', LOG_LEVEL] });
const env: BenchEnv = { dev, region: REGION, credentials, ceilingUrl: ceiling.url, ceilingPid: ceiling.process.pid!, logLevel: LOG_LEVEL };
const results: ScenarioResult[] = [];
try {
  for (const scenario of scenarios.filter((s) => selected(s.name))) {
    const prepared = await scenario.prepare(env);
    try {
      const spec = {
        targets: [prepared.subject, prepared.ceiling],
        credentials,
        connections: CONNECTIONS,
        seconds: SECONDS,
        slices: SLICES,
        warmupSeconds: WARMUP_SECONDS,
      };
      const [subject, ceilingResult] = (await loadInChild(spec)) as [LoadResult, LoadResult];
      const cpuRatio = perRequestRatio(ceilingResult.serverCpuMicrosPerRequest, subject.serverCpuMicrosPerRequest);
      results.push({
        name: scenario.name,
        ...(scenario.baseline === undefined ? {} : { baseline: scenario.baseline }),
        subject,
        ceiling: ceilingResult,
        ratio: subject.reqPerSec / ceilingResult.reqPerSec,
        ...(cpuRatio === undefined ? {} : { cpuRatio }),
      });
      console.log(`${scenario.name}: ${subject.reqPerSec.toFixed(0)} req/s, ${scenario.baseline ?? 'ceiling'} ${ceilingResult.reqPerSec.toFixed(0)} req/s`);
    } finally {
      await prepared.close?.();
    }
  }
} finally {
  await dev.stop();
  ceiling.process.kill('SIGTERM');
  rmSync(dev.dataDir, { recursive: true, force: true });
}

console.log('');
printTable(results);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  RESULTS,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, connections: CONNECTIONS, seconds: SECONDS, slices: SLICES, warmupSeconds: WARMUP_SECONDS, loadAverageAfter: loadavg()[0], results }, null, 2)}\n`,
);
console.log(`\nWritten to ${RESULTS}`);
