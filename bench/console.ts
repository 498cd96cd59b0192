import { gzipSync } from 'node:zlib';
import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { DESKTOP, launchChromium, signIn } from '../test/e2e/console-browser.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev } from '../test/e2e/harness.ts';

/**
 * `node --import tsx bench/console.ts`: how soon the web console shows the key list on loopback,
 * and how much JavaScript it sends. One `concord dev` region holds BENCH_KEYS keys (100 by
 * default: the list's first page, each row a DescribeKey), every other one with an alias. Each of
 * BENCH_LOADS loads is a fresh browser context (nothing cached) holding the signed-in session's
 * cookie, timed from navigation to the last row shown, by the page's own clock. Reports, never
 * fails: the budget (1 s) is the issue's, the machine's load is not the console's.
 */
const KEYS = Number(process.env.BENCH_KEYS ?? 100);
const LOADS = Number(process.env.BENCH_LOADS ?? 10);

const [dev, browser] = await Promise.all([startDev({ regions: ['us-east-1'], extraArgs: ['--log-level', 'warn'] }), launchChromium()]);
try {
  const kms = dev.client();
  for (let i = 0; i < KEYS; i++) {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: `bench key ${i}` }));
    if (i % 2 === 0) await kms.send(new CreateAliasCommand({ AliasName: `alias/bench-${i}`, TargetKeyId: KeyMetadata!.KeyId! }));
  }
  const endpoint = dev.endpoint();
  const page = await browser.newPage({ viewport: DESKTOP });
  await signIn(page, endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
  const cookies = await page.context().cookies();

  const times: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ viewport: DESKTOP });
    await context.addCookies(cookies);
    const cold = await context.newPage();
    await cold.goto(`${endpoint}/console/#/keys`);
    await cold
      .getByRole('table', { name: 'Keys of this region' })
      .locator('tbody tr')
      .nth(Math.min(KEYS, 100) - 1)
      .waitFor({ timeout: 60000 });
    times.push(await cold.evaluate(() => performance.now()));
    await context.close();
  }

  const html = await (await fetch(`${endpoint}/console/`)).text();
  const scripts = [...html.matchAll(/src="(\/console\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const sizes = await Promise.all(scripts.map(async (path) => Buffer.from(await (await fetch(`${endpoint}${path}`)).arrayBuffer())));
  const raw = sizes.reduce((total, body) => total + body.length, 0);
  const gzipped = sizes.reduce((total, body) => total + gzipSync(body).length, 0);

  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
  console.log(
    JSON.stringify({
      keys: KEYS,
      loads: LOADS,
      firstLoadMs: { median: at(0.5), p90: at(0.9), max: at(1) },
      javascriptBytes: raw,
      javascriptGzipBytes: gzipped,
    }),
  );
} finally {
  await browser.close();
  await dev.stop();
}
