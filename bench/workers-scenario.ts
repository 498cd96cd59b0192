import { availableParallelism } from 'node:os';
import { startDev } from '../test/e2e/harness.ts';
import { send } from './load.ts';
import { onDev, type BenchEnv, type Scenario } from './scenario.ts';

/**
 * Encrypt 4 KiB against a region served by one worker per core (at least 2), measured in the
 * same run and slices against the shared one-process deployment as its baseline: the ratio is
 * the speed-up the workers give on this machine. The server CPU per request is not shown for
 * the workers, whose time is spread over several processes.
 */
export function workersScenario(plaintext: string): Scenario {
  const workers = Math.max(2, availableParallelism());
  return {
    name: `Encrypt 4 KiB, ${workers} workers`,
    baseline: '1 process',
    async prepare(env: BenchEnv) {
      const dev = await startDev({ regions: [env.region], extraArgs: ['--log-level', env.logLevel, '--workers', String(workers)] });
      const create = async (on: BenchEnv) =>
        ((await send(onDev(on, 'CreateKey', { Description: 'benchmark' }), env.credentials)).KeyMetadata as { KeyId: string }).KeyId;
      const clustered = { ...env, dev };
      const { pid: _primary, ...subject } = onDev(clustered, 'Encrypt', { KeyId: await create(clustered), Plaintext: plaintext });
      return {
        subject,
        ceiling: onDev(env, 'Encrypt', { KeyId: await create(env), Plaintext: plaintext }),
        async close() {
          await dev.stop();
        },
      };
    },
  };
}
