import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudHSMV2Client, CreateClusterCommand, DescribeBackupsCommand, DescribeClustersCommand, InitializeClusterCommand } from '@aws-sdk/client-cloudhsm-v2';
import { CreateKeyCommand, DescribeKeyCommand, ListAliasesCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, DESKTOP, launchChromium, screenshots } from './console-browser.ts';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

const [EAST, WEST] = ['us-east-1', 'us-west-2'] as const;
const SUBNETS = ['subnet-0a1b2c3d4e5f60718', 'subnet-0a1b2c3d4e5f60719'];

describe('the console in Chromium: sign-in with an API key, HSM clusters, HSMs and backups, and a key’s audit events', () => {
  let dev: DevDeployment;
  let browser: Browser;
  let page: Page;
  let hsm: (region: string) => CloudHSMV2Client;
  let clusterId: string;
  let backupId: string;
  let keyId: string;
  before(async () => {
    // Clusters with HSMs are backed up every 5 seconds, so backups appear while the test runs.
    [dev, browser] = await Promise.all([startDev({ regions: [EAST, WEST], extraArgs: ['--hsm-backup-interval', '5'] }), launchChromium()]);
    hsm = (region) =>
      new CloudHSMV2Client({
        region,
        endpoint: dev.endpoint(region),
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
        maxAttempts: 1,
      });
    // axe-core is injected as an inline script, which the console's Content-Security-Policy rightly refuses.
    page = await browser.newPage({ viewport: DESKTOP, bypassCSP: true });
    page.setDefaultTimeout(15000);
    clusterId = (await hsm(EAST).send(new CreateClusterCommand({ HsmType: 'hsm2m.medium', SubnetIds: SUBNETS }))).Cluster!.ClusterId!;
  });
  after(async () => {
    await browser.close();
    await dev.stop();
  });

  it('signs in with the API key concord dev printed, as the principal the key belongs to', async () => {
    const apikey = / -d apikey=(\S+)/.exec(dev.banner())![1]!;
    await page.goto(`${dev.endpoint(EAST)}/console/`);
    await page.getByLabel('API key', { exact: true }).check();
    await page.getByLabel('API key', { exact: true }).and(page.locator('input[type=password]')).fill(apikey);
    await assertAccessible(page, 'sign-in page with an API key');
    await screenshots(page, 'sign-in-api-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Customer managed keys' }).waitFor();
    assert.equal(await page.locator('.principal').textContent(), 'user/admin');
    const session = await page.evaluate(async () => (await fetch('/console/api/session')).json() as Promise<{ method: string; credentialId: string }>);
    assert.equal(session.method, 'apiKey');
    assert.match(session.credentialId, /^ApiKey-/);
  });

  it('lists the HSM clusters of the region with their state', async () => {
    await page.getByRole('link', { name: 'HSM clusters' }).click();
    const table = page.getByRole('table', { name: 'HSM clusters of this region' });
    await table.waitFor();
    const row = table.locator('tbody tr', { hasText: clusterId });
    assert.match((await row.textContent())!, /UNINITIALIZED.*hsm2m\.medium.*FIPS.*0.*90 days/);
    await assertAccessible(page, 'HSM clusters page');
    await screenshots(page, 'hsm-clusters');
  });

  it('creates an HSM in the cluster and shows its IP address and state', async () => {
    await page.getByRole('link', { name: clusterId }).click();
    await page.getByRole('heading', { level: 1, name: `Cluster ${clusterId}` }).waitFor();
    await page.getByText('No HSMs in this cluster.').waitFor();
    await page.getByLabel('Availability zone').selectOption(`${EAST}b`);
    await page.getByRole('button', { name: 'Create HSM' }).click();
    const table = page.getByRole('table', { name: 'HSMs of the cluster' });
    await table.waitFor();
    assert.match((await table.locator('tbody tr').first().textContent())!, /^hsm-\w+us-east-1b10\.0\.1\.10subnet-0a1b2c3d4e5f60719ACTIVE/);
    const { Clusters } = await hsm(EAST).send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    assert.equal(Clusters![0]!.Hsms![0]!.EniIp, '10.0.1.10');
  });

  it('shows the backups the region takes of the initialized cluster, with their state', async () => {
    // The cluster's CSR, signed by our own CA, as its owner does with openssl.
    const dir = mkdtempSync(join(tmpdir(), 'concord-console-hsm-'));
    const { Clusters } = await hsm(EAST).send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    writeFileSync(join(dir, 'cluster.csr'), Clusters![0]!.Certificates!.ClusterCsr!);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=Our CA');
    openssl('x509', '-req', '-in', 'cluster.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cluster.crt', '-days', '30');
    await hsm(EAST).send(
      new InitializeClusterCommand({
        ClusterId: clusterId,
        SignedCert: readFileSync(join(dir, 'cluster.crt'), 'utf8'),
        TrustAnchor: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      }),
    );
    const backups = page.getByRole('table', { name: `Backups of ${clusterId}` });
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh backups' }).click();
        await backups.locator('tbody tr').first().waitFor({ timeout: 2000 });
      },
      { timeoutMs: 60000 },
    );
    backupId = (await backups.locator('tbody tr td').first().textContent())!;
    assert.match(backupId, /^backup-\w+$/);
    assert.match((await backups.locator('tbody tr').first().textContent())!, /READY/);
    await page.reload();
    assert.equal(await page.locator('.facts .badge').first().textContent(), 'INITIALIZED');
    await page.getByRole('table', { name: 'HSMs of the cluster' }).waitFor();
    await assertAccessible(page, 'HSM cluster page');
    await screenshots(page, 'hsm-cluster');
  });

  it('copies a backup to the other region, which lists it with its source region', async () => {
    await page.getByRole('link', { name: 'HSM backups' }).click();
    const table = page.getByRole('table', { name: 'HSM backups of this region' });
    await table.waitFor();
    await page.getByRole('button', { name: `Copy to region ${backupId}` }).click();
    await page.getByLabel('Destination region').selectOption(WEST);
    await page.getByRole('button', { name: 'Copy backup' }).click();
    await page.getByText(`Backup ${backupId} is being copied to ${WEST}`).waitFor();
    await eventually(async () => {
      const { Backups } = await hsm(WEST).send(new DescribeBackupsCommand({ Filters: { sourceBackupIds: [backupId] } }));
      assert.equal(Backups?.[0]?.BackupState, 'READY');
      assert.equal(Backups[0].SourceRegion, EAST);
    });
  });

  it('deletes a backup to PENDING_DELETION, restores it, and keeps it from expiring', async () => {
    const table = page.getByRole('table', { name: 'HSM backups of this region' });
    const row = table.locator('tbody tr', { hasText: backupId });
    await page.getByRole('button', { name: `Delete ${backupId}` }).click();
    await row.getByText('PENDING_DELETION').waitFor();
    await page.getByRole('button', { name: `Restore ${backupId}` }).click();
    await row.getByText('READY').waitFor();
    await page.getByRole('button', { name: `Keep forever ${backupId}` }).click();
    await page.getByRole('button', { name: `Let expire ${backupId}` }).waitFor();
    const { Backups } = await hsm(EAST).send(new DescribeBackupsCommand({ Filters: { backupIds: [backupId] } }));
    assert.deepEqual([Backups![0]!.BackupState, Backups![0]!.NeverExpires], ['READY', true]);
    await assertAccessible(page, 'HSM backups page');
    await screenshots(page, 'hsm-backups');
  });

  it('deletes the HSM after a confirmation', async () => {
    await page.goto(`${dev.endpoint(EAST)}/console/#/hsm-clusters/${clusterId}`);
    const table = page.getByRole('table', { name: 'HSMs of the cluster' });
    await table.waitFor();
    await table.getByRole('button', { name: /^Delete HSM hsm-/ }).click();
    await table.getByRole('button', { name: /^Confirm delete hsm hsm-/ }).click();
    await page.getByText('No HSMs in this cluster.').waitFor();
    const { Clusters } = await hsm(EAST).send(new DescribeClustersCommand({ Filters: { clusterIds: [clusterId] } }));
    assert.deepEqual(Clusters![0]!.Hsms, []);
  });

  it('shows a HSM error as the API gave it', async () => {
    await page.goto(`${dev.endpoint(EAST)}/console/#/hsm-clusters/cluster-nonexistent2`);
    assert.match((await page.getByRole('alert').textContent())!, /^CloudHsmResourceNotFoundException: /);
  });

  it('adds and deletes the aliases and tags of a key', async () => {
    keyId = (await dev.client(EAST).send(new CreateKeyCommand({ Description: 'audited' }))).KeyMetadata!.KeyId!;
    await page.goto(`${dev.endpoint(EAST)}/console/#/keys/${keyId}`);
    await page.getByLabel('New alias (without alias/)').fill('console-audited');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('button', { name: 'Delete alias alias/console-audited' }).waitFor();
    await page.getByLabel('Tag key').fill('team');
    await page.getByLabel('Tag value').fill('payments');
    await page.getByRole('button', { name: 'Add tag' }).click();
    const tags = page.getByRole('table', { name: 'Tags' });
    assert.match((await tags.locator('tbody tr').textContent())!, /^teampayments/);
    const kms = dev.client(EAST);
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags, [{ TagKey: 'team', TagValue: 'payments' }]);
    assert.deepEqual(
      (await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases!.map((a) => a.AliasName),
      ['alias/console-audited'],
    );
    await page.getByRole('button', { name: 'Remove tag team' }).click();
    await page.getByText('No tags.').waitFor();
    await page.getByRole('button', { name: 'Delete alias alias/console-audited' }).click();
    await page.getByText('No aliases.').waitFor();
    assert.deepEqual((await kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags, []);
    assert.deepEqual((await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases, []);
  });

  it('shows the audit events of a key, newest first, with who made them through which credential', async () => {
    await dev.client(EAST).send(new DescribeKeyCommand({ KeyId: keyId }));
    await page.getByRole('button', { name: 'Disable key' }).click();
    await page.getByRole('button', { name: 'Enable key' }).waitFor();
    const table = page.getByRole('table', { name: 'Audit events of the key, newest first' });
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh events' }).click();
      await table.waitFor({ timeout: 2000 });
      const events = (await table.locator('tbody tr td:nth-child(2)').allTextContents()).filter(
        (name) => name !== 'DescribeKey' && !name.startsWith('List') && !name.startsWith('Get'),
      );
      for (const name of ['DisableKey', 'TagResource', 'CreateAlias', 'CreateKey']) assert.ok(events.includes(name), `${name} in ${events.join(', ')}`);
      assert.ok(events.indexOf('DisableKey') < events.indexOf('TagResource') && events.indexOf('CreateAlias') < events.indexOf('CreateKey'), 'newest first');
    });
    await page.getByLabel('Changes only').check();
    await eventually(async () => {
      const names = await table.locator('tbody tr td:nth-child(2)').allTextContents();
      assert.deepEqual(names.slice(0, 2), ['DisableKey', 'UntagResource']);
      assert.ok(!names.some((name) => name.startsWith('Describe') || name.startsWith('List') || name.startsWith('Get')), names.join(', '));
    });
    const disabled = table.locator('tbody tr', { hasText: 'DisableKey' });
    assert.match((await disabled.textContent())!, /DisableKeykms\.amazonaws\.comuser\/admin127\.0\.0\.1Succeeded$/);
    await assertAccessible(page, 'key page with audit events');
    await screenshots(page, 'key-audit-events');
  });

  it('signs out; the session opens nothing more', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Concord' }).waitFor();
    assert.equal(await page.evaluate(async () => (await fetch('/console/api/keys')).status), 401);
  });
});
