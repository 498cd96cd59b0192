import { availableParallelism, loadavg } from 'node:os';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, startDev } from '../test/e2e/harness.ts';
import { UkoClient } from '../test/e2e/uko-client.ts';

/**
 * `npm run bench:uko`: the orchestrator's throughput. One `concord dev` process with three
 * regions on loopback: UKO runs in the first, and three aws_kms keystores make the template's
 * group: the two other regions and the first region itself (Concord as its own keystore,
 * through its AWS surface). BENCH_KEYS managed keys (1,000 by default) are created and
 * activated (each copied into the three keystores), verified, then one copy in ten is disabled
 * in its keystore and every key synced. BENCH_CONCURRENCY requests are in flight at once.
 */
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REGIONS = ['us-east-1', 'eu-west-1', 'eu-west-2'] as const;
const HOME = REGIONS[0];
const TARGETS = [REGIONS[1], REGIONS[2], HOME] as const;

const dev = await startDev({ regions: [...REGIONS], extraArgs: ['--log-level', 'warn'] });
try {
  const uko = new UkoClient(dev.endpoint(HOME), / -d apikey=(\S+)/.exec(dev.banner())![1]!);
  const vault = (await uko.call('POST', '/vaults', { body: { name: 'bench' } })).json.id;
  for (const region of TARGETS) {
    const body = {
      type: 'aws_kms',
      vault: { id: vault },
      name: region === HOME ? `${region}-itself` : region,
      groups: ['bench'],
      aws_region: region,
      aws_access_key_id: ACCESS_KEY_ID,
      aws_secret_access_key: SECRET_ACCESS_KEY,
      aws_endpoint: dev.endpoint(region),
    };
    if ((await uko.call('POST', '/keystores', { body })).status !== 201) throw new Error(`keystore ${region} not created`);
  }
  await uko.call('POST', '/templates', {
    body: { vault: { id: vault }, name: 'bench', key: { algorithm: 'aes', size: '256' }, keystores: [{ group: 'bench', type: 'aws_kms' }] },
  });

  /** Runs `work` for 0..count-1, CONCURRENCY at a time; returns seconds. */
  const timed = async (count: number, work: (i: number) => Promise<void>): Promise<number> => {
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) await work(next++);
      }),
    );
    return (performance.now() - start) / 1000;
  };
  const expect = (status: number, wanted: number, what: string) => {
    if (status !== wanted) throw new Error(`${what}: ${status}`);
  };

  const ids: string[] = [];
  const keyIdsThere: { region: string; keyId: string }[][] = [];
  const activate = await timed(KEYS, async (i) => {
    const created = await uko.call('POST', '/managed_keys', { body: { template_name: 'bench', vault: { id: vault }, label: `bench-${i}` } });
    expect(created.status, 201, 'create');
    const activated = await uko.call('POST', `/managed_keys/${created.json.id}/activate`, { ifMatch: created.etag });
    expect(activated.status, 200, 'activate');
    if (activated.json.status_in_keystores.some((s) => s.keystore_sync_flag !== 'ok')) throw new Error('activated out of sync');
    ids[i] = created.json.id;
    keyIdsThere[i] = activated.json.status_in_keystores.map((s) => ({ region: s.keystore.name.replace(/-itself$/, ''), keyId: s.key_id_in_keystore! }));
  });
  const verify = await timed(KEYS, async (i) => {
    expect((await uko.call('GET', `/managed_keys/${ids[i]}/status_in_keystores`)).status, 200, 'verify');
  });
  const drifted = Math.ceil(KEYS / 10);
  for (let i = 0; i < drifted; i++) {
    const { region, keyId } = keyIdsThere[i * 10]![i % TARGETS.length]!;
    await dev.client(region).send(new DisableKeyCommand({ KeyId: keyId }));
  }
  let outOfSync = 0;
  const sync = await timed(KEYS, async (i) => {
    const read = await uko.call('GET', `/managed_keys/${ids[i]}/status_in_keystores`);
    if (read.json.status_in_keystores.some((s) => s.keystore_sync_flag === 'out_of_sync')) outOfSync += 1;
    const synced = await uko.call('POST', `/managed_keys/${ids[i]}/sync_status_in_keystores`, { ifMatch: read.etag });
    expect(synced.status, 200, 'sync');
    if (synced.json.status_in_keystores.some((s) => s.keystore_sync_flag !== 'ok')) throw new Error('still out of sync after sync');
  });
  const copies = KEYS * TARGETS.length;
  const line = (what: string, seconds: number) =>
    `${what.padEnd(34)} ${seconds.toFixed(1).padStart(6)} s  ${(KEYS / seconds).toFixed(1).padStart(6)} keys/s  ${(KEYS / seconds).toFixed(1).padStart(6)} copies/s per keystore (${TARGETS.length} keystores)`;
  console.log(
    `UKO: ${KEYS} managed keys x ${TARGETS.length} aws_kms keystores (${TARGETS.slice(0, 2).join(', ')}, ${HOME} itself; ${copies} copies), ${CONCURRENCY} in flight, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(line('create + activate', activate));
  console.log(line('verify', verify));
  console.log(line(`verify + sync (${outOfSync} out of sync)`, sync));
  console.log(`activate + sync: ${(activate + sync).toFixed(1)} s`);
} finally {
  await dev.stop();
}
