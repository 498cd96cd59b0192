import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, CreateAliasCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, DESKTOP, launchChromium, screenshots, signIn } from './console-browser.ts';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { devAdministrator, tkeOk } from './tke-harness.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;

describe('the web console in Chromium against concord dev', () => {
  let dev: DevDeployment;
  let browser: Browser;
  let page: Page;
  let keyId: string;
  before(async () => {
    [dev, browser] = await Promise.all([startDev({ regions: [EAST, WEST] }), launchChromium()]);
    // axe-core is injected as an inline script, which the console's Content-Security-Policy rightly refuses.
    page = await browser.newPage({ viewport: DESKTOP, bypassCSP: true });
    page.setDefaultTimeout(15000);
    // Keys made through the API, so the list has rows to show when it first loads.
    for (let i = 0; i < 5; i++) {
      const { KeyMetadata } = await dev.client(EAST).send(new CreateKeyCommand({ Description: `api key ${i}` }));
      if (i === 0) await dev.client(EAST).send(new CreateAliasCommand({ AliasName: 'alias/console-listed', TargetKeyId: KeyMetadata!.KeyId! }));
    }
  });
  after(async () => {
    await browser.close();
    await dev.stop();
  });

  it('signs in with an access key pair, on a sign-in page without serious accessibility violations', async () => {
    await page.goto(`${dev.endpoint(EAST)}/console/`);
    await page.getByRole('heading', { name: 'Sign in to Concord' }).waitFor();
    await assertAccessible(page, 'sign-in page');
    await screenshots(page, 'sign-in');
    await signIn(page, dev.endpoint(EAST), ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    assert.equal(await page.locator('.principal').textContent(), 'user/admin');
  });

  it('lists the keys of the region with their aliases, state, spec and usage', async () => {
    // The first load in a browser with nothing cached, the session cookie already set: what a user waits for when opening the console.
    const cold = await browser.newContext({ viewport: DESKTOP });
    await cold.addCookies(await page.context().cookies());
    const coldPage = await cold.newPage();
    const started = performance.now();
    await coldPage.goto(`${dev.endpoint(EAST)}/console/#/keys`);
    await coldPage.getByRole('table', { name: 'Keys of this region' }).locator('tbody tr').nth(4).waitFor();
    const wall = performance.now() - started;
    // The page's own clock starts at its navigation: the browser's process start-up is not in it.
    const inPage = await coldPage.evaluate(() => performance.now());
    console.log(
      `console: first load of the key list (5 keys, nothing cached): ${inPage.toFixed(0)} ms from navigation, ${wall.toFixed(0)} ms as the test saw it`,
    );
    await cold.close();

    await page.goto(`${dev.endpoint(EAST)}/console/#/keys`);
    const table = page.getByRole('table', { name: 'Keys of this region' });
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), 5);
    const listed = table.locator('tbody tr', { hasText: 'alias/console-listed' });
    assert.match((await listed.textContent())!, /Enabled.*SYMMETRIC_DEFAULT.*ENCRYPT_DECRYPT.*Single-Region/);
    await assertAccessible(page, 'key list');
    await screenshots(page, 'keys');
  });

  it('creates a multi-Region key and shows it', async () => {
    await page.getByRole('link', { name: 'Create key' }).click();
    await page.getByLabel('Description').fill('made in the console');
    await page.getByLabel('Alias (optional, without alias/)').fill('console-made');
    await page.getByLabel('Multi-Region key').check();
    await assertAccessible(page, 'create key form');
    await screenshots(page, 'create-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const heading = page.getByRole('heading', { level: 1, name: /^Key mrk-[0-9a-f]{32}$/ });
    await heading.waitFor();
    keyId = (await heading.textContent())!.slice('Key '.length);
    await page.getByRole('heading', { name: 'Multi-Region configuration' }).waitFor();
    await page.getByText('alias/console-made').waitFor();
    assert.equal(await page.locator('.facts .badge').first().textContent(), 'Enabled');
    const { KeyMetadata } = await dev.client(EAST).send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(KeyMetadata?.Description, 'made in the console');
    assert.equal(KeyMetadata.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
  });

  it('shows the key policy, rotation, tags and grants of the key', async () => {
    await page.getByRole('region', { name: 'Key policy document' }).waitFor();
    assert.match((await page.getByRole('region', { name: 'Key policy document' }).textContent())!, /"kms:\*"/);
    await page.getByRole('button', { name: 'Enable automatic rotation' }).waitFor();
    await page.getByText('No tags.').waitFor();
    await page.getByText('No grants.').waitFor();
    await assertAccessible(page, 'key page');
    await screenshots(page, 'key');
  });

  it('replicates the key to the other region', async () => {
    await page.getByLabel('Replica region').selectOption(WEST);
    await page.getByRole('button', { name: 'Create replica key' }).click();
    await page.getByRole('region', { name: 'Multi-Region configuration' }).getByRole('link', { name: WEST }).waitFor();
    await eventually(async () => {
      const { KeyMetadata } = await dev.client(WEST).send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
      assert.equal(KeyMetadata.KeyState, 'Enabled');
    });
    await page.getByLabel('New primary region').waitFor();
  });

  it('disables the key, and the API sees it disabled', async () => {
    await page.getByRole('button', { name: 'Disable key' }).click();
    await page.getByRole('button', { name: 'Enable key' }).waitFor();
    assert.equal(await page.locator('.facts .badge').first().textContent(), 'Disabled');
    const { KeyMetadata } = await dev.client(EAST).send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(KeyMetadata?.KeyState, 'Disabled');
  });

  it('enables the key again and moves the primary to the other region, whose console then holds the primary', async () => {
    // AWS swaps the primary only from an Enabled key.
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.getByRole('button', { name: 'Disable key' }).waitFor();
    await page.getByLabel('New primary region').selectOption(WEST);
    await page.getByRole('button', { name: 'Update primary region' }).click();
    await eventually(async () => {
      const { KeyMetadata } = await dev.client(WEST).send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(KeyMetadata?.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
    });
    await page.goto(`${dev.endpoint(EAST)}/console/#/keys/${keyId}`);
    await page.getByText('Replicas are created, and the primary region changed, from the primary key').waitFor();
    const link = page.getByRole('region', { name: 'Multi-Region configuration' }).getByRole('link', { name: WEST });
    assert.equal(await link.getAttribute('href'), `${dev.endpoint(WEST)}/console/#/keys/${keyId}`);
  });

  it('compares the crypto units of the region side by side, marking the rows concord tke cryptounit-compare marks', async () => {
    // A second administrator on the recovery unit only: the units now differ in one row.
    const { workspace, password } = devAdministrator(dev);
    const tke = (...args: string[]) => tkeOk(workspace, args, password);
    await tke('sigkey-add', '--name', 'second');
    await tke('cryptounit-add', '--endpoint', dev.endpoint(EAST), '--unit', `${EAST}-rec-1`);
    await tke('cryptounit-admin-add', '--sigkey', 'second');
    await tke('cryptounit-add', '--endpoint', dev.endpoint(EAST), '--all');
    const marked = (await tke('cryptounit-compare')).split('\n').filter((line) => line.startsWith('*'));

    await page.getByRole('link', { name: 'Crypto units' }).click();
    const table = page.getByRole('table', { name: /Chosen crypto units side by side/ });
    await table.waitFor();
    const header = (await table.locator('thead').textContent())!;
    assert.ok(header.includes(`${EAST}-op-1`) && header.includes(`${EAST}-rec-1`), header);
    const row = (label: string) => table.locator('tbody tr', { has: page.getByRole('rowheader', { name: new RegExp(`^${label}`) }) });
    assert.match((await row('Signature threshold').textContent())!, /11$/);
    assert.match((await row('Current register').textContent())!, /valid [0-9a-f]{16}valid [0-9a-f]{16}$/);
    assert.match((await row('Administrator dev-admin').textContent())!, /^Administrator dev-admin([0-9a-f]{16}){2}$/);
    assert.match((await row('Administrator second').textContent())!, /^Administrator secondDiffers—[0-9a-f]{16}$/);
    const differing = await table.locator('tbody tr.differs th').allTextContents();
    assert.deepEqual(differing, ['Administrator secondDiffers']);
    assert.deepEqual(
      marked.map((line) => line.split(/\s{2,}/)[0]!.slice(2)),
      ['admin second'],
    );
    await page.getByText('1 row differs between the chosen units.').waitFor();
    // Choosing one unit leaves nothing to differ; the marks follow the choice.
    await page.getByLabel(`${EAST}-rec-1`).uncheck();
    await page.getByText('The chosen units agree.').waitFor();
    assert.equal(await table.locator('tr.differs').count(), 0);
    await page.getByLabel(`${EAST}-rec-1`).check();
    await assertAccessible(page, 'crypto units page');
    await screenshots(page, 'crypto-units');
  });

  it('signs out, and the session no longer opens the console', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Concord' }).waitFor();
    const answer = await page.evaluate(async () => (await fetch('/console/api/keys')).status);
    assert.equal(answer, 401);
  });
});
