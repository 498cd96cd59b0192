import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { startDev } from '../test/e2e/harness.ts';
import { send } from './load.ts';
import { onDev, type BenchEnv, type Scenario } from './scenario.ts';

/**
 * Encrypt 4 KiB against a region served by one worker per core (at least 2), measured in the
 * same run and slices against the shared one-process deployment as its baseline: the ratio is
 * the speed-up the workers give on this machine, and the server CPU per request (the primary's
 * and the workers' together) what the cluster costs per request.
 */
export function workersScenario(plaintext: string): Scenario {
  const workers = Math.max(2, availableParallelism());
  return {
    name: `Encrypt 4 KiB on ${workers} workers`,
    baseline: '1 process',
    async prepare(env: BenchEnv) {
      const dev = await startDev({ regions: [env.region], extraArgs: ['--log-level', env.logLevel, '--workers', String(workers)] });
      const create = async (on: BenchEnv) =>
        ((await send(onDev(on, 'CreateKey', { Description: 'benchmark' }), env.credentials)).KeyMetadata as { KeyId: string }).KeyId;
      const clustered = { ...env, dev };
      // The primary's children (Linux): the workers, which log nothing at warn to say who they are.
      const workerPids = readFileSync(`/proc/${dev.pid()}/task/${dev.pid()}/children`, 'utf8').trim().split(' ').map(Number);
      return {
        subject: { ...onDev(clustered, 'Encrypt', { KeyId: await create(clustered), Plaintext: plaintext }), workerPids },
        ceiling: onDev(env, 'Encrypt', { KeyId: await create(env), Plaintext: plaintext }),
        async close() {
          await dev.stop();
        },
      };
    },
  };
}
