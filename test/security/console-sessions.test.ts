import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateKeyCommand, DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { ConsoleSessions } from '../../src/server/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { DESKTOP, launchChromium, signIn } from '../e2e/console-browser.ts';
import { eventually } from '../e2e/eventually.ts';
import { ACCESS_KEY_ID, ACCOUNT, BIN, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../e2e/harness.ts';

const run = promisify(execFile);
const REGION = 'us-east-1';
const COOKIE = `concord-console-${REGION}`;
/** May read keys, policies and grants, and nothing else. */
const READER = {
  arn: `arn:aws:iam::${ACCOUNT}:user/reader`,
  accessKeyId: 'AKIACONSOLEREADER001',
  secretAccessKey: 'console-reader-secret-access-key-01',
  identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:List*', 'kms:Describe*', 'kms:Get*'], Resource: '*' }] }],
};

interface Answer {
  status: number;
  json: Record<string, unknown>;
  cookie: string | undefined;
}

describe('attacks on the web console', () => {
  let dev: DevDeployment;
  let browser: Browser;
  let endpoint: string;
  let keyId: string;
  let attacker: Server | undefined;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-console-security-'));
    const principalsFile = join(dir, 'principals.yaml');
    writeFileSync(principalsFile, JSON.stringify([READER]));
    [dev, browser] = await Promise.all([startDev({ regions: [REGION], extraArgs: ['--principals-file', principalsFile] }), launchChromium()]);
    endpoint = dev.endpoint();
    keyId = (await dev.client().send(new CreateKeyCommand({ Description: 'not to be disabled' }))).KeyMetadata!.KeyId!;
  });
  after(async () => {
    attacker?.close();
    await browser.close();
    await dev.stop();
  });

  /** A request to the console API as a script would send it, with the headers given (Origin, Cookie, X-CSRF-Token, ...). */
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${endpoint}/console/api/${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      cookie: response.headers.get('set-cookie') ?? undefined,
    };
  };
  const origin = () => ({ origin: endpoint });
  /** Signs in with an access key pair, or with an API key given as `{apikey}`. */
  const signInAs = async (key: { accessKeyId: string; secretAccessKey: string } | { apikey: string }, cookie?: string) => {
    const method = 'apikey' in key ? 'apiKey' : 'accessKey';
    const answer = await call('POST', 'session', { ...origin(), ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}) }, { method, ...key });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const token = new RegExp(`^${COOKIE}=([^;]+);`).exec(answer.cookie ?? '')![1]!;
    return {
      token,
      csrf: answer.json.csrfToken as string,
      headers: { ...origin(), cookie: `${COOKIE}=${token}`, 'x-csrf-token': answer.json.csrfToken as string },
    };
  };
  /** `concord apikey` against the region, as its administrator. */
  const apikeyCli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [BIN, 'apikey', ...args, '--endpoint', endpoint], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY },
    });
    return JSON.parse(stdout) as { id: string; apikey: string; state: string };
  };
  const keyState = async () => (await dev.client().send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState;

  it('cookie theft by script: the session cookie is HttpOnly, SameSite=Strict, for the whole site, and not readable by the page', async () => {
    const answer = await call('POST', 'session', origin(), { method: 'accessKey', accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    const attributes = answer.cookie!.split(';').map((a) => a.trim());
    assert.match(attributes[0]!, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}$`));
    assert.ok(attributes.includes('HttpOnly') && attributes.includes('SameSite=Strict') && attributes.includes('Path=/'), answer.cookie);
    // Plain HTTP here: Secure (and the __Host- prefix) are set when the console is reached over TLS.
    assert.ok(!attributes.includes('Secure'), answer.cookie);
    const page = await browser.newPage({ viewport: DESKTOP });
    await signIn(page, endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    assert.equal(await page.evaluate(() => document.cookie), '');
    await page.close();
  });

  it('clickjacking and injected scripts: console pages forbid framing and scripts from anywhere but the region', async () => {
    const response = await fetch(`${endpoint}/console/`);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.match(response.headers.get('content-security-policy')!, /script-src 'self';.*frame-ancestors 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  });

  it('cross-site request forgery: a change without this origin or without the session CSRF token is refused and does not happen', async () => {
    const { headers } = await signInAs({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    const forged: [string, Record<string, string>][] = [
      ['another origin', { ...headers, origin: 'http://attacker.example' }],
      ['no origin', Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'origin'))],
      ['no CSRF token', Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'x-csrf-token'))],
      ['a wrong CSRF token', { ...headers, 'x-csrf-token': 'A'.repeat(43) }],
    ];
    for (const [what, sent] of forged) {
      const answer = await call('POST', 'kms/DisableKey', sent, { KeyId: keyId });
      assert.equal(answer.status, 403, what);
      assert.equal(answer.json.error, 'CrossSiteRequestRefused', what);
    }
    // A form can send text/plain cross-site without a preflight; the console takes JSON only.
    const form = await call('POST', 'kms/DisableKey', { ...headers, 'content-type': 'text/plain' }, JSON.stringify({ KeyId: keyId }));
    assert.equal(form.status, 415);
    assert.equal(await keyState(), 'Enabled');
    assert.equal((await call('POST', 'kms/DisableKey', headers, { KeyId: keyId })).status, 200, 'the same request from the console itself');
    assert.equal((await call('POST', 'kms/EnableKey', headers, { KeyId: keyId })).status, 200);
  });

  it('cross-site request forgery from a page of another site, in the victim’s signed-in browser', async () => {
    const page = await browser.newPage({ viewport: DESKTOP });
    await signIn(page, endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    const target = `${endpoint}/console/api/kms/DisableKey`;
    let posted = false;
    attacker = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<!doctype html><title>prize</title>
        <form id="f" method="POST" action="${target}" enctype="text/plain"><input name='{"KeyId":"${keyId}","x":"' value='"}'></form>
        <script>
          fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors', body: JSON.stringify({ KeyId: ${JSON.stringify(keyId)} }) })
            .finally(() => document.getElementById('f').submit());
        </script>`);
    });
    const server = attacker;
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    const { port } = server.address() as { port: number };
    page.on('request', (request) => {
      if (request.url() === target) posted = true;
    });
    await page.goto(`http://localhost:${port}/`);
    await page.waitForURL(target);
    assert.ok(posted, 'the attack page did send its forged requests');
    assert.equal(await keyState(), 'Enabled');
    await page.close();
  });

  it('session fixation: a token planted before sign-in is never the signed-in session, and an attacker’s own session planted is ended', async () => {
    const planted = 'P'.repeat(43);
    const victim = await signInAs({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, planted);
    assert.notEqual(victim.token, planted);
    assert.equal((await call('GET', 'keys', { cookie: `${COOKIE}=${planted}` })).status, 401);
    // The attacker signs in as itself and plants that session: the victim's sign-in ends it.
    const own = await signInAs(READER);
    const signedIn = await signInAs({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, own.token);
    assert.notEqual(signedIn.token, own.token);
    assert.equal((await call('GET', 'keys', { cookie: `${COOKIE}=${own.token}` })).status, 401);
    assert.equal((await call('GET', 'session', { cookie: `${COOKIE}=${signedIn.token}` })).json.principal, `arn:aws:iam::${ACCOUNT}:user/admin`);
  });

  it('session replay after sign-out: a signed-out session opens nothing', async () => {
    const { token, headers } = await signInAs({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });
    assert.equal((await call('GET', 'keys', { cookie: `${COOKIE}=${token}` })).status, 200);
    const out = await call('DELETE', 'session', headers);
    assert.equal(out.status, 204);
    assert.match(out.cookie!, new RegExp(`^${COOKIE}=; .*Max-Age=0`));
    const replay = await call('GET', 'keys', { cookie: `${COOKIE}=${token}` });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error, 'SignInRequired');
  });

  it('credential guessing: a wrong secret and an unknown access key ID fail alike', async () => {
    const wrong = await call('POST', 'session', origin(), { method: 'accessKey', accessKeyId: ACCESS_KEY_ID, secretAccessKey: `${SECRET_ACCESS_KEY}x` });
    const unknown = await call('POST', 'session', origin(), { method: 'accessKey', accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: SECRET_ACCESS_KEY });
    for (const answer of [wrong, unknown]) {
      assert.equal(answer.status, 401);
      assert.deepEqual(answer.json, { error: 'SignInFailed', message: 'The credentials are not valid for this region.' });
      assert.equal(answer.cookie, undefined);
    }
  });

  it('privilege escalation through the console: a principal without permission sees AccessDenied and the action does not happen', async () => {
    const keysBefore = (await dev.client().send(new ListKeysCommand({}))).Keys!.length;
    const page: Page = await browser.newPage({ viewport: DESKTOP });
    await signIn(page, endpoint, READER.accessKeyId, READER.secretAccessKey);
    await page.goto(`${endpoint}/console/#/keys/${keyId}`);
    await page.getByRole('button', { name: 'Disable key' }).click();
    const alert = page.getByRole('region', { name: 'General configuration' }).getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /^AccessDeniedException: .*user\/reader is not authorized to perform: kms:DisableKey/);
    // Reading the audit trail is an identity permission of its own, which kms:Describe* does not give.
    const audit = page.getByRole('region', { name: 'Audit events' }).getByRole('alert');
    assert.match((await audit.textContent())!, /^AccessDeniedException: .*concord:LookupAuditEvents/);
    assert.equal(await keyState(), 'Enabled');

    await page.goto(`${endpoint}/console/#/keys/new`);
    await page.getByRole('button', { name: 'Create key' }).click();
    assert.match((await page.getByRole('alert').textContent())!, /^AccessDeniedException: /);
    assert.equal((await dev.client().send(new ListKeysCommand({}))).Keys!.length, keysBefore);

    await page.getByRole('link', { name: 'Crypto units' }).click();
    assert.match((await page.getByRole('alert').textContent())!, /^AccessDeniedException: .*concord:ListCryptoUnits/);
    await page.close();
  });

  it('an API key session is held to the same rules: HttpOnly SameSite=Strict cookie, CSRF token and origin, its principal’s permissions, sign-out', async () => {
    const reader = await apikeyCli('create', '--principal', READER.arn, '--name', 'console-reader');
    const answer = await call('POST', 'session', origin(), { method: 'apiKey', apikey: reader.apikey });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const attributes = answer.cookie!.split(';').map((a) => a.trim());
    assert.ok(attributes.includes('HttpOnly') && attributes.includes('SameSite=Strict'), answer.cookie);
    assert.ok(!JSON.stringify(answer.json).includes(reader.apikey), 'the API key is never sent back');
    const { headers, token } = await signInAs({ apikey: reader.apikey });
    for (const sent of [
      { ...headers, origin: 'http://attacker.example' },
      { ...headers, 'x-csrf-token': 'A'.repeat(43) },
    ]) {
      const forged = await call('POST', 'kms/DisableKey', sent, { KeyId: keyId });
      assert.equal(forged.status, 403);
      assert.equal(forged.json.error, 'CrossSiteRequestRefused');
    }
    const denied = await call('POST', 'kms/DisableKey', headers, { KeyId: keyId });
    assert.equal(denied.json.error, 'AccessDeniedException');
    assert.match(denied.json.message as string, /user\/reader is not authorized to perform: kms:DisableKey/);
    assert.equal(await keyState(), 'Enabled');
    assert.equal((await call('DELETE', 'session', headers)).status, 204);
    assert.equal((await call('GET', 'keys', { cookie: `${COOKIE}=${token}` })).status, 401);
    const wrong = await call('POST', 'session', origin(), { method: 'apiKey', apikey: `${reader.apikey}x` });
    assert.deepEqual([wrong.status, wrong.json.error, wrong.cookie], [401, 'SignInFailed', undefined]);
  });

  it('a revoked API key’s console session: revoking the key ends the sessions it opened, in the browser too, and it signs in no more', async () => {
    const key = await apikeyCli('create', '--principal', `arn:aws:iam::${ACCOUNT}:user/admin`, '--name', 'console-revoked');
    const page = await browser.newPage({ viewport: DESKTOP });
    await page.goto(`${endpoint}/console/`);
    await page.getByLabel('API key', { exact: true }).check();
    await page.locator('#api-key').fill(key.apikey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Customer managed keys' }).waitFor();
    const { headers, token } = await signInAs({ apikey: key.apikey });
    assert.equal((await call('GET', 'keys', { cookie: `${COOKIE}=${token}` })).status, 200);

    assert.equal((await apikeyCli('revoke', key.id)).state, 'revoked');
    // On the node that revoked it at once; another node of the region reads the key's state again within a second.
    await eventually(async () => {
      const refused = await call('POST', 'kms/DisableKey', headers, { KeyId: keyId });
      assert.deepEqual([refused.status, refused.json.error], [401, 'SignInRequired']);
    });
    assert.equal(await keyState(), 'Enabled');
    assert.equal((await call('GET', 'session', { cookie: `${COOKIE}=${token}` })).status, 401);
    await page.getByRole('link', { name: 'Crypto units' }).click();
    await page.getByRole('heading', { name: 'Sign in to Concord' }).waitFor();
    const again = await call('POST', 'session', origin(), { method: 'apiKey', apikey: key.apikey });
    assert.deepEqual([again.status, again.json.error], [401, 'SignInFailed']);
    await page.close();
  });

  it('an abandoned session: idle past the timeout, or older than the longest session, it is refused and deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-console-sessions-'));
    const store = new SqliteStore(join(dir, 'keys.db'));
    let now = Date.UTC(2026, 0, 1);
    const sessions = new ConsoleSessions(store, () => now);
    const identity = { method: 'accessKey', credentialId: ACCESS_KEY_ID, principal: `arn:aws:iam::${ACCOUNT}:user/admin` };
    const apiKeyIdentity = { method: 'apiKey', credentialId: 'ApiKey-00000000-0000-4000-8000-000000000000', principal: identity.principal };
    try {
      for (const opened of [identity, apiKeyIdentity]) {
        const idle = await sessions.open(opened);
        now += sessions.idleTimeoutMs - 1;
        assert.ok(await sessions.resume(idle.token), `${opened.method}: used just within the idle timeout`);
        now += sessions.idleTimeoutMs + 1;
        assert.equal(await sessions.resume(idle.token), undefined, opened.method);
        assert.deepEqual(await store.list('console/session/'), []);
      }

      const busy = await sessions.open(identity);
      const opened = now;
      while (now - opened < 12 * 3600_000 - 10 * 60_000) {
        now += 10 * 60_000;
        assert.ok(await sessions.resume(busy.token), `in use ${(now - opened) / 60_000} minutes`);
      }
      now += 11 * 60_000;
      assert.equal(await sessions.resume(busy.token), undefined, 'in use all the time, yet past 12 hours');
    } finally {
      await store.close();
    }
  });
});
