import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs. */
export const CHROMIUM = '/usr/bin/chromium';
const AXE = new URL('../../node_modules/axe-core/axe.min.js', import.meta.url).pathname;
/** Screenshots of each page at each width, kept as test artefacts (gitignored). */
export const ARTIFACTS = new URL('../../test-artifacts/console/', import.meta.url).pathname;
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 812 };

/** Headless Chromium as these machines need it: no sandbox, no GPU, nothing reaching the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Signs in on the console's sign-in page and waits for the key list. */
export async function signIn(page: Page, endpoint: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
  await page.goto(`${endpoint}/console/`);
  await page.getByLabel('Access key ID').fill(accessKeyId);
  await page.getByLabel('Secret access key').fill(secretAccessKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Customer managed keys' }).waitFor();
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** axe-core's serious and critical violations on the page as it is now: none is allowed. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => (window as unknown as { axe: { run(): Promise<AxeResult> } }).axe.run());
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `${what}: axe-core found serious violations`,
  );
}

/** Screenshots of the page at desktop and phone width, named after it; the page is left at desktop width. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const [size, viewport] of [
    ['1280', DESKTOP],
    ['375', PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: `${ARTIFACTS}${name}-${size}.png`, fullPage: true });
    if (size === '375') {
      // Usable at phone width: nothing but scrollable tables is wider than the screen.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow} px wider than a 375 px screen`);
    }
  }
  await page.setViewportSize(DESKTOP);
}
