// Temporary (not committed): main's build (before) and this branch's (after) against the ceiling in the same alternating slices.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev } from '../test/e2e/harness.ts';
import { startDev as startBaseDev } from '/tmp/hotpath-base/test/e2e/harness.ts';
import { loadInChild, send, type LoadResult, type LoadTarget } from './load.ts';
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
const REGION = 'us-east-1';
const PLAINTEXT = randomBytes(4096).toString('base64');
const ceiling = spawn(process.execPath, ['--import', 'tsx', new URL('./ceiling-server.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
let ceilingUrl = '';
for await (const chunk of ceiling.stdout) { const m = /listening (\d+)/.exec(String(chunk)); if (m) { ceilingUrl = `http://127.0.0.1:${m[1]}`; break; } }
const args = ['--log-level', 'warn'];
const devs = { after: await startDev({ regions: [REGION], extraArgs: args }), before: await startBaseDev({ regions: [REGION], extraArgs: args }), 'after, audit off': await startDev({ regions: [REGION], extraArgs: [...args, '--no-audit'] }) };
const target = (url: string, pid: number, op: string, body: object): LoadTarget => ({ url, region: REGION, target: `TrentService.${op}`, body: body as Record<string, unknown>, pid });
console.log(`load average before: ${loadavg()[0]!.toFixed(1)}`);
const rows: string[] = [];
for (const op of ['Encrypt', 'Decrypt', 'GenerateDataKey']) {
  const targets: [string, LoadTarget][] = [];
  for (const [name, dev] of Object.entries(devs)) {
    if (name === 'after, audit off' && op !== 'Encrypt') continue;
    const on = target(dev.endpoint(REGION), dev.pid(), 'CreateKey', {});
    const KeyId = ((await send(on, credentials)).KeyMetadata as { KeyId: string }).KeyId;
    let body: object = op === 'GenerateDataKey' ? { KeyId, KeySpec: 'AES_256' } : { KeyId, Plaintext: PLAINTEXT };
    if (op === 'Decrypt') body = { CiphertextBlob: (await send(target(dev.endpoint(REGION), dev.pid(), 'Encrypt', body), credentials)).CiphertextBlob };
    targets.push([name, target(dev.endpoint(REGION), dev.pid(), op, body)]);
  }
  let cbody: object = op === 'GenerateDataKey' ? { KeyId: 'k', KeySpec: 'AES_256' } : { KeyId: 'k', Plaintext: PLAINTEXT };
  if (op === 'Decrypt') cbody = { CiphertextBlob: (await send(target(ceilingUrl, ceiling.pid!, 'Encrypt', cbody), credentials)).CiphertextBlob };
  targets.push(['ceiling', target(ceilingUrl, ceiling.pid!, op, cbody)]);
  const results = (await loadInChild({ targets: targets.map(([, t]) => t), credentials, connections: 32, seconds: Number(process.env.SECONDS_PER ?? 10), slices: 20, warmupSeconds: 2 })) as LoadResult[];
  const c = results.at(-1)!;
  results.forEach((r, i) => rows.push(`| ${op} 4 KiB | ${targets[i]![0]} | ${r.reqPerSec.toFixed(0)} | ${c.reqPerSec.toFixed(0)} | ${(r.reqPerSec / c.reqPerSec).toFixed(2)} | ${(c.serverCpuMicrosPerRequest! / r.serverCpuMicrosPerRequest!).toFixed(2)} | ${r.serverCpuMicrosPerRequest!.toFixed(0)} (${c.serverCpuMicrosPerRequest!.toFixed(0)}) | ${r.p50Ms.toFixed(1)}/${r.p99Ms.toFixed(1)} | ${r.errors} |`));
  console.log(rows.slice(-results.length).join('\n'));
}
console.log(`load average after: ${loadavg()[0]!.toFixed(1)}`);
console.log('| scenario | build | req/s | ceiling req/s | ratio | cpu ratio | server µs/req (ceiling) | p50/p99 ms | errors |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
console.log(rows.join('\n'));
for (const dev of Object.values(devs)) await dev.stop();
ceiling.kill('SIGTERM');
process.exit(0);
