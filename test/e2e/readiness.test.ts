import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { eventually } from './eventually.ts';
import { startDev } from './harness.ts';
import { cannotRun, freshSchema, startNode, type RegionNode } from './postgres-harness.ts';
import { PG_BINDIR, postgresInstalled, startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';
import { devAdministrator, tkeOk } from './tke-harness.ts';

interface Readiness {
  status: number;
  body: {
    status: string;
    reasons: string[];
    checks: { store: { ok: boolean; reason?: string }; masterKey: { ok: boolean; reason?: string }; peers: Record<string, { ok: boolean }> };
  };
}

const readyz = async (endpoint: string): Promise<Readiness> => {
  const response = await fetch(`${endpoint}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
};

if (!postgresInstalled()) {
  cannotRun('the readiness tests on a PostgreSQL store', `PostgreSQL's server programs are not in ${PG_BINDIR} (set PG_BINDIR)`);
} else {
  describe('GET /readyz of a region on PostgreSQL', () => {
    let postgres: PrivatePostgres | undefined;
    let node: RegionNode | undefined;
    const dataDir = mkdtempSync(join(tmpdir(), 'concord-readyz-'));
    before(async () => {
      postgres = await startPrivatePostgres();
      node = await startNode({ store: { kind: 'postgres', url: (await freshSchema(postgres.url)).url }, dataDir, name: 'node-1' });
    });
    after(async () => {
      await node?.stop();
      await postgres?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers 200 while the database answers, 503 naming the store while it is stopped, and 200 again once it is back', async () => {
      assert.deepEqual(await readyz(node!.endpoint).then((r) => [r.status, r.body.status]), [200, 'ready']);

      await postgres!.stop();
      await eventually(async () => {
        const { status, body } = await readyz(node!.endpoint);
        assert.equal(status, 503);
        assert.equal(body.status, 'not ready');
        assert.deepEqual(body.reasons, ['the store is unreachable']);
        assert.equal(body.checks.store.ok, false);
        assert.equal(body.checks.masterKey.ok, true);
      });
      // The process is alive: only readiness says it cannot serve.
      assert.equal((await fetch(`${node!.endpoint}/healthz`)).status, 200);
      await eventually(() => {
        assert.match(node!.output(), /"reasons":\["the store is unreachable"\],"causes":\[.+\],"msg":"not ready"/);
      });

      await postgres!.start();
      await eventually(
        async () => {
          assert.equal((await readyz(node!.endpoint)).status, 200);
        },
        { timeoutMs: 30000, intervalMs: 200 },
      );
      await node!.client().send(new CreateKeyCommand({}));
    });
  });
}

describe('GET /readyz of a region whose operational crypto unit is zeroized', () => {
  it('answers 503 naming the master key, while the store still answers', async () => {
    const dev = await startDev({ regions: ['us-east-1'] });
    try {
      assert.equal((await readyz(dev.endpoint())).status, 200);
      const { workspace, password } = devAdministrator(dev);
      await tkeOk(workspace, ['cryptounit-add', '--endpoint', dev.endpoint(), '--all'], password);
      assert.match(await tkeOk(workspace, ['cryptounit-zeroize', '--unit', 'us-east-1-op-1'], password), /back in imprint mode/);
      const { status, body } = await readyz(dev.endpoint());
      assert.equal(status, 503);
      assert.deepEqual(body.reasons, ['the region has no usable master key']);
      assert.deepEqual({ ok: body.checks.masterKey.ok, reason: body.checks.masterKey.reason }, { ok: false, reason: 'no usable master key' });
      assert.equal(body.checks.store.ok, true);
    } finally {
      await dev.stop();
      rmSync(dev.dataDir, { recursive: true, force: true });
    }
  });
});
