import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { ConsoleSessions } from '../../src/server/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { DESKTOP, launchChromium, signIn } from '../e2e/console-browser.ts';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from '../e2e/harness.ts';

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
  const signInAs = async (key: { accessKeyId: string; secretAccessKey: string }, cookie?: string) => {
    const answer = await call('POST', 'session', { ...origin(), ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}) }, { method: 'accessKey', ...key });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const token = new RegExp(`^${COOKIE}=([^;]+);`).exec(answer.cookie ?? '')![1]!;
    return {
      token,
      csrf: answer.json.csrfToken as string,
      headers: { ...origin(), cookie: `${COOKIE}=${token}`, 'x-csrf-token': answer.json.csrfToken as string },
    };
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
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /^AccessDeniedException: .*user\/reader is not authorized to perform: kms:DisableKey/);
    assert.equal(await keyState(), 'Enabled');

    await page.goto(`${endpoint}/console/#/keys/new`);
    await page.getByRole('button', { name: 'Create key' }).click();
    assert.match((await page.getByRole('alert').textContent())!, /^AccessDeniedException: /);
    assert.equal((await dev.client().send(new ListKeysCommand({}))).Keys!.length, keysBefore);

    await page.getByRole('link', { name: 'Crypto units' }).click();
    assert.match((await page.getByRole('alert').textContent())!, /^AccessDeniedException: .*concord:ListCryptoUnits/);
    await page.close();
  });

  it('an abandoned session: idle past the timeout, or older than the longest session, it is refused and deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-console-sessions-'));
    const store = new SqliteStore(join(dir, 'keys.db'));
    let now = Date.UTC(2026, 0, 1);
    const sessions = new ConsoleSessions(store, () => now);
    const identity = { method: 'accessKey', credentialId: ACCESS_KEY_ID, principal: `arn:aws:iam::${ACCOUNT}:user/admin` };
    try {
      const idle = await sessions.open(identity);
      now += sessions.idleTimeoutMs - 1;
      assert.ok(await sessions.resume(idle.token), 'used just within the idle timeout');
      now += sessions.idleTimeoutMs + 1;
      assert.equal(await sessions.resume(idle.token), undefined);
      assert.deepEqual(await store.list('console/session/'), []);

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
