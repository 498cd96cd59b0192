import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { instanceIdOf } from '../../src/keyprotect/index.ts';
import { assertAccessible, DESKTOP, launchChromium, screenshots, signIn } from './console-browser.ts';
import { eventually } from './eventually.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';
import { bearer, KP_APIKEYS, kpRegionConfig } from './key-protect-client.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';
import { UkoClient } from './uko-client.ts';

const [EAST, TARGET] = ['us-east-1', 'eu-west-3'] as const;
const BUCKET = `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:bucket-instance:bucket:console`;
/** Short enough to wait out once, long enough that the second Synchronize falls inside it. */
const SYNC_INTERVAL_SECONDS = 8;

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

async function newPage(): Promise<Page> {
  // axe-core is injected as an inline script, which the console's Content-Security-Policy rightly refuses.
  const page = await browser.newPage({ viewport: DESKTOP, bypassCSP: true });
  page.setDefaultTimeout(15000);
  return page;
}

/** A registered resource's webhook receiver: keeps the events it is sent. */
async function receiver(): Promise<{ url: string; events: { event: string }[]; server: Server }> {
  const events: { event: string }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/kp-events`, events, server };
}

describe('seed 002 in the console: KMS keys → Actions → Synchronize associated resources → Synchronize', () => {
  let region: RegionServers;
  let page: Page;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let keyId: string;
  let registeredAt: number;
  before(async () => {
    [region, hook] = await Promise.all([
      startRegionServers([EAST], kpRegionConfig({ keyProtect: { syncIntervalSeconds: SYNC_INTERVAL_SECONDS } })),
      receiver(),
    ]);
    page = await newPage();
    keyId = (await region.client(EAST).send(new CreateKeyCommand({ Description: 'bucket root key' }))).KeyMetadata!.KeyId!;
    // A service registers its resource over raw HTTP, as Key Protect's SDK has no call for it.
    const registered = await fetch(`${region.endpoint(EAST)}/api/v2/keys/${keyId}/registrations/${encodeURIComponent(BUCKET)}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await bearer(region.endpoint(EAST), KP_APIKEYS.service)}`,
        'bluemix-instance': instanceIdOf(ACCOUNT, EAST),
        'content-type': 'application/vnd.ibm.kms.registration+json',
      },
      body: JSON.stringify({
        metadata: { collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 1 },
        resources: [{ preventKeyDeletion: false, description: 'console bucket', registrationMetadata: JSON.stringify({ webhookUrl: hook.url }) }],
      }),
    });
    assert.equal(registered.status, 201);
    registeredAt = Date.now();
  });
  after(async () => {
    await page.close();
    await new Promise((resolve) => hook.server.close(resolve));
    await region.stopAll();
  });

  it('lists the key’s associated resources, synchronizes them (the receiver is renotified), and explains the 409 of a second sync', async () => {
    await signIn(page, region.endpoint(EAST), ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    await page.goto(`${region.endpoint(EAST)}/console/#/keys/${keyId}`);
    const section = page.getByRole('region', { name: 'Associated resources' }).first();
    await page.getByRole('cell', { name: BUCKET }).waitFor();
    await assertAccessible(page, 'key page with associated resources');
    await screenshots(page, 'associated-resources');

    // Key Protect refuses a sync within the interval after the key's creation: it is waited out once.
    await sleep(Math.max(0, registeredAt + SYNC_INTERVAL_SECONDS * 1000 + 500 - Date.now()));
    const synchronize = async () => {
      await page.getByRole('button', { name: 'Actions for the associated resources' }).click();
      await page.getByRole('button', { name: 'Synchronize associated resources' }).click();
      await page.getByRole('button', { name: 'Synchronize', exact: true }).click();
    };
    await synchronize();
    await page.getByText('The associated resources were notified of the key’s current state').waitFor();
    await eventually(() => {
      assert.ok(hook.events.some((e) => e.event === 'sync'));
    });
    await assertAccessible(page, 'associated resources synchronized');
    await screenshots(page, 'associated-resources-synchronized');

    await synchronize();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    assert.match((await refused.textContent())!, /REQ_TOO_EARLY_ERR.*synchronized or changed less than an hour ago; try again after /);
    await screenshots(page, 'associated-resources-too-early');
    assert.ok(await section.isVisible());
  });
});

describe('seed 001 in the console: Managed keys → Verify sync → Out of sync → Sync key with the keystores confirmed', () => {
  let dev: DevDeployment;
  let page: Page;
  let managedKeyId: string;
  let keyIdThere: string;
  before(async () => {
    dev = await startDev({ regions: [EAST, TARGET] });
    page = await newPage();
    const uko = new UkoClient(dev.endpoint(EAST), /apikey=(\S+)/.exec(dev.banner())![1]!);
    const vaultId = (await uko.call('POST', '/vaults', { body: { name: 'console vault' } })).json.id;
    const keystore = await uko.call('POST', '/keystores', {
      body: {
        type: 'aws_kms',
        vault: { id: vaultId },
        name: 'eu-west-3 keystore',
        groups: ['production'],
        aws_region: TARGET,
        aws_access_key_id: ACCESS_KEY_ID,
        aws_secret_access_key: SECRET_ACCESS_KEY,
        aws_endpoint: dev.endpoint(TARGET),
      },
    });
    assert.equal(keystore.status, 201);
    const template = await uko.call('POST', '/templates', {
      body: {
        vault: { id: vaultId },
        name: 'console-aes',
        key: { algorithm: 'aes', size: '256', state: 'pre_activation' },
        keystores: [{ group: 'production', type: 'aws_kms' }],
      },
    });
    assert.equal(template.status, 201);
    const created = await uko.call('POST', '/managed_keys', { body: { template_name: 'console-aes', vault: { id: vaultId }, label: 'console-key' } });
    const activated = await uko.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag });
    assert.equal(activated.status, 200);
    managedKeyId = activated.json.id;
    keyIdThere = activated.json.status_in_keystores[0]!.key_id_in_keystore!;
    // Changed outside UKO: the copy in the other region is disabled through AWS's SDK.
    await dev.client(TARGET).send(new DisableKeyCommand({ KeyId: keyIdThere }));
  });
  after(async () => {
    await page.close();
    await dev.stop();
  });

  it('verifies sync, shows Out of sync in the list and on the keystore card, and syncs the key back into the keystore', async () => {
    await signIn(page, dev.endpoint(EAST), ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    await page.getByRole('link', { name: 'Managed keys' }).click();
    await page.getByRole('link', { name: 'console-key' }).click();
    await page.getByRole('heading', { level: 1, name: `Managed key ${managedKeyId}` }).waitFor();
    const card = page.getByRole('article', { name: 'eu-west-3 keystore' });

    await page.getByRole('button', { name: 'Actions for the managed key' }).click();
    await page.getByRole('button', { name: 'Verify sync' }).click();
    await page.getByText('Verified: the key is out of sync in some keystores.').waitFor();
    await card.getByText('Out of sync', { exact: true }).waitFor();
    await assertAccessible(page, 'managed key out of sync');
    await screenshots(page, 'managed-key-out-of-sync');

    await page.getByRole('link', { name: '← All managed keys' }).click();
    const row = page.getByRole('row', { name: /console-key/ });
    await row.getByText('Out of sync', { exact: true }).waitFor();
    assert.match((await row.textContent())!, /eu-west-3 keystore: out of sync/);
    await assertAccessible(page, 'managed keys list');
    await screenshots(page, 'managed-keys');

    await page.getByRole('link', { name: 'console-key' }).click();
    await page.getByRole('button', { name: 'Actions for the managed key' }).click();
    await page.getByRole('button', { name: 'Sync key' }).click();
    const confirm = page.getByRole('group', { name: /Sync key: the key’s state is written to these keystores/ });
    await confirm.getByText('eu-west-3 keystore (aws_kms)').waitFor();
    await screenshots(page, 'managed-key-sync-confirm');
    await confirm.getByRole('button', { name: 'Sync key' }).click();
    await page.getByText('Synced: the key is in sync in every keystore.').waitFor();
    await card.getByText('In sync', { exact: true }).waitFor();
    assert.equal((await dev.client(TARGET).send(new DescribeKeyCommand({ KeyId: keyIdThere }))).KeyMetadata!.KeyState, 'Enabled');
    await assertAccessible(page, 'managed key synced');
  });
});
