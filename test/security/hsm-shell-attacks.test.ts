import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDev, type DevDeployment } from '../e2e/harness.ts';
import { activate, Clusters, hsmCall, hsmLogin } from '../e2e/hsm-shells.ts';

const OFFICER = 'officer-pass-1';
const ALICE = 'alice-pass-1';
const BOB = 'bob-pass-1';

describe('attacks on the HSM shell endpoint (/hsm/v1)', () => {
  let dev: DevDeployment;
  let first: string;
  let second: string;

  const call = (hsm: string, path: string, body: Record<string, unknown>, token?: string) => hsmCall(dev.endpoint(), hsm, path, body, token);
  const login = (hsm: string, type: string, name: string, password: string) => hsmLogin(dev.endpoint(), hsm, type, name, password);
  const command = (hsm: string, token: string, name: string, args: Record<string, unknown> = {}) => call(hsm, `commands/${name}`, args, token);

  /** An active cluster with crypto users alice and bob, and a key of alice's; returns its HSM's ID. */
  async function activeCluster(clusters: Clusters): Promise<string> {
    const { hsm } = await clusters.initialized('us-east-1');
    await activate(dev.endpoint(), hsm.HsmId, OFFICER, [
      ['alice', ALICE],
      ['bob', BOB],
    ]);
    const alice = await login(hsm.HsmId, 'CU', 'alice', ALICE);
    assert.equal((await command(hsm.HsmId, alice, 'genSymKey', { keyType: 31, size: 32, label: 'alices' })).body.handle, 1);
    return hsm.HsmId;
  }

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
    const clusters = new Clusters(dev, mkdtempSync(join(tmpdir(), 'concord-hsm-attacks-')));
    first = await activeCluster(clusters);
    second = await activeCluster(clusters);
  });
  after(() => dev.stop());

  it('brute-force login: after five wrong passwords the user is locked out, the right password included, until a crypto officer resets it', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await call(first, 'login', { type: 'CU', name: 'bob', password: `guess-${i}-wrong` });
      assert.deepEqual([answer.status, answer.body], [401, { error: 'LoginFailed', message: 'invalid password' }]);
    }
    const locked = await call(first, 'login', { type: 'CU', name: 'bob', password: BOB });
    assert.deepEqual([locked.status, locked.body.message], [401, 'user bob is locked out; a crypto officer must reset its password']);
    const { users } = (await call(first, 'listUsers', {})).body as { users: { name: string; loginFailures: number }[] };
    assert.equal(users.find((u) => u.name === 'bob')!.loginFailures, 5);
    const officer = await login(first, 'CO', 'admin', OFFICER);
    assert.equal((await command(first, officer, 'changePswd', { type: 'CU', name: 'bob', password: BOB })).status, 200);
    await login(first, 'CU', 'bob', BOB);
  });

  it("CU reading another CU's key: bob can neither read, describe, share, delete nor export alice's key, and learns nothing of it", async () => {
    const bob = await login(first, 'CU', 'bob', BOB);
    for (const [name, args] of [
      ['getAttribute', { handle: 1 }],
      ['getKeyInfo', { handle: 1 }],
      ['shareKey', { handle: 1, userIds: [3], share: true }],
      ['deleteKey', { handle: 1 }],
      ['exportKey', { handle: 1 }],
    ] as const) {
      const answer = await command(first, bob, name, args);
      assert.equal(answer.status, 403, `${name}: ${answer.text}`);
      assert.equal(answer.body.error, 'Refused');
      assert.doesNotMatch(answer.text, /alices|material|OBJ_ATTR/);
    }
    assert.deepEqual((await command(first, bob, 'findKey')).body, { handles: [] });
    const alice = await login(first, 'CU', 'alice', ALICE);
    assert.deepEqual((await command(first, alice, 'findKey')).body, { handles: [1] });
  });

  it('syncKey across unrelated lineage: a key exported from one cluster is refused by a cluster made from nothing, even with the lineage ID rewritten', async () => {
    const officerHere = await login(first, 'CO', 'admin', OFFICER);
    const officerThere = await login(second, 'CO', 'admin', OFFICER);
    const { synced } = (await command(first, officerHere, 'exportKey', { handle: 1 })).body as { synced: { lineageId: string; sealed: string } };
    assert.doesNotMatch(JSON.stringify(synced), /alices/);
    const refused = await command(second, officerThere, 'importKey', { synced });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message as string, /was not created from a backup of the source cluster/);
    const theirs = (await command(second, officerThere, 'exportKey', { handle: 1 })).body as { synced: { lineageId: string } };
    const rewritten = await command(second, officerThere, 'importKey', { synced: { ...synced, lineageId: theirs.synced.lineageId } });
    assert.deepEqual([rewritten.status, rewritten.body.message], [403, 'the synced object does not open under the cluster lineage key']);
    const alice = await login(second, 'CU', 'alice', ALICE);
    assert.deepEqual((await command(second, alice, 'findKey')).body, { handles: [1] });
  });

  it('session token forgery: a made-up token, none, one of another HSM, one after logout and AWS credentials all find no session', async () => {
    const notLoggedIn = { error: 'NotLoggedIn', message: 'not logged in to this HSM: run loginHSM first' };
    const alice = await login(first, 'CU', 'alice', ALICE);
    const forged = Buffer.from(alice, 'base64url');
    forged[0]! ^= 1;
    for (const token of [forged.toString('base64url'), 'x', '', undefined]) {
      const answer = await call(first, 'commands/findKey', {}, token);
      assert.deepEqual([answer.status, answer.body], [401, notLoggedIn]);
    }
    assert.deepEqual((await command(second, alice, 'findKey')).body, notLoggedIn);
    const withAws = await fetch(`${dev.endpoint()}/hsm/v1/hsms/${first}/commands/findKey`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIACONCORDTEST0001/20260101/us-east-1/cloudhsm/aws4_request',
      },
      body: '{}',
    });
    assert.equal(withAws.status, 401);
    assert.equal((await command(first, alice, 'logout')).status, 200);
    assert.deepEqual((await command(first, alice, 'findKey')).body, notLoggedIn);
  });

  it('keeps password hashes out of every answer, and refuses malformed commands with 400, never 500', async () => {
    const listing = await call(first, 'listUsers', {});
    assert.doesNotMatch(listing.text, /salt|hash/);
    const officer = await login(first, 'CO', 'admin', OFFICER);
    for (const body of ['not json', '[]', JSON.stringify({ userId: 'one' }), JSON.stringify({ synced: { lineageId: 1 } })]) {
      const response = await fetch(`${dev.endpoint()}/hsm/v1/hsms/${first}/commands/findAllKeys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${officer}` },
        body,
      });
      assert.equal(response.status, 400, body);
    }
    assert.equal((await command(first, officer, 'noSuchCommand')).status, 400);
    assert.equal((await call('hsm-nosuchhsm2345', 'listUsers', {})).status, 404);
  });
});
