import { randomBytes } from 'node:crypto';
import type { DevDeployment } from '../test/e2e/harness.ts';
import { send, type LoadTarget } from './load.ts';
import type { Credentials } from './sign.ts';
import { signingScenarios } from './signing-scenarios.ts';

/** What the runner has started for every scenario. */
export interface BenchEnv {
  /** A `concord dev` deployment with one region, logging at warn. */
  dev: DevDeployment;
  region: string;
  credentials: Credentials;
  /** The bare node:http server of bench/ceiling-server.ts. */
  ceilingUrl: string;
  ceilingPid: number;
}

export interface PreparedScenario {
  /** The request driven against the system under test. */
  subject: LoadTarget;
  /** The same request against a bare server doing only the unavoidable work. */
  ceiling: LoadTarget;
  /** Stops whatever `prepare` started beyond the shared environment. */
  close?: () => Promise<void>;
}

export interface Scenario {
  name: string;
  prepare(env: BenchEnv): Promise<PreparedScenario>;
}

const PLAINTEXT = randomBytes(4096).toString('base64');

export const onDev = (env: BenchEnv, operation: string, body: Record<string, unknown>): LoadTarget => ({
  url: env.dev.endpoint(env.region),
  region: env.region,
  target: `TrentService.${operation}`,
  body,
  pid: env.dev.pid(),
});

export const onCeiling = (env: BenchEnv, operation: string, body: Record<string, unknown>): LoadTarget => ({
  ...onDev(env, operation, body),
  url: env.ceilingUrl,
  pid: env.ceilingPid,
});

const createSymmetricKey = async (env: BenchEnv): Promise<string> =>
  (await send(onDev(env, 'CreateKey', { Description: 'benchmark' }), env.credentials)).KeyMetadata.KeyId;

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
export const scenarios: Scenario[] = [encrypt, decrypt, generateDataKey, ...signingScenarios];
