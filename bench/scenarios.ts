import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startDev } from '../test/e2e/harness.ts';
import { send, type LoadTarget } from './load.ts';
import { onCeiling, onDev, type BenchEnv, type Scenario } from './scenario.ts';
import { signingScenarios } from './signing-scenarios.ts';
import { workersScenario } from './workers-scenario.ts';

const PLAINTEXT = randomBytes(4096).toString('base64');

const createSymmetricKey = async (env: BenchEnv): Promise<string> =>
  ((await send(onDev(env, 'CreateKey', { Description: 'benchmark' }), env.credentials)).KeyMetadata as { KeyId: string }).KeyId;

const encrypt: Scenario = {
  name: 'Encrypt 4 KiB',
  async prepare(env) {
    const KeyId = await createSymmetricKey(env);
    return {
      subject: onDev(env, 'Encrypt', { KeyId, Plaintext: PLAINTEXT }),
      ceiling: onCeiling(env, 'Encrypt', { KeyId, Plaintext: PLAINTEXT }),
    };
  },
};

/**
 * Encrypt against two deployments started for it, alike but that the baseline records no audit
 * events (`concord dev --no-audit`), in the same slices: the ratio and the difference of server
 * µs/req are what the audit trail costs a request. Both are fresh, so that neither has had more
 * time to compile its hot path than the other.
 */
const encryptAuditCost: Scenario = {
  name: 'Encrypt 4 KiB with audit trail',
  baseline: 'audit trail off',
  async prepare(env) {
    const start = (extraArgs: string[]) => startDev({ regions: [env.region], extraArgs: ['--log-level', env.logLevel, ...extraArgs] });
    const devs = [await start([]), await start(['--no-audit'])] as const;
    const [audited, unaudited] = await Promise.all(
      devs.map(async (dev) => {
        const on = { ...env, dev };
        return onDev(on, 'Encrypt', { KeyId: await createSymmetricKey(on), Plaintext: PLAINTEXT });
      }),
    );
    return {
      subject: audited!,
      ceiling: unaudited!,
      async close() {
        for (const dev of devs) {
          await dev.stop();
          rmSync(dev.dataDir, { recursive: true, force: true });
        }
      },
    };
  },
};

const decrypt: Scenario = {
  name: 'Decrypt 4 KiB',
  async prepare(env) {
    const KeyId = await createSymmetricKey(env);
    const encrypted = async (target: LoadTarget) => (await send(target, env.credentials)).CiphertextBlob as string;
    const subjectBlob = await encrypted(onDev(env, 'Encrypt', { KeyId, Plaintext: PLAINTEXT }));
    const ceilingBlob = await encrypted(onCeiling(env, 'Encrypt', { KeyId, Plaintext: PLAINTEXT }));
    return {
      subject: onDev(env, 'Decrypt', { CiphertextBlob: subjectBlob }),
      ceiling: onCeiling(env, 'Decrypt', { CiphertextBlob: ceilingBlob }),
    };
  },
};

const generateDataKey: Scenario = {
  name: 'GenerateDataKey AES_256',
  async prepare(env) {
    const KeyId = await createSymmetricKey(env);
    return {
      subject: onDev(env, 'GenerateDataKey', { KeyId, KeySpec: 'AES_256' }),
      ceiling: onCeiling(env, 'GenerateDataKey', { KeyId, KeySpec: 'AES_256' }),
    };
  },
};

/**
 * Every scenario `npm run bench` runs, in order. To add one (Sign, GenerateMac, a
 * PostgreSQL deployment, ...), write a Scenario and append it here: its `prepare` may use
 * the shared dev deployment and ceiling server, or start its own and stop them in `close`;
 * bare ceilings for new operations go into bench/ceiling-server.ts's handlers.
 */
export const scenarios: Scenario[] = [encrypt, encryptAuditCost, decrypt, generateDataKey, ...signingScenarios, workersScenario(PLAINTEXT)];
