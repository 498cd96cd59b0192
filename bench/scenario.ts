import type { DevDeployment } from '../test/e2e/harness.ts';
import type { LoadTarget } from './load.ts';
import type { Credentials } from './sign.ts';

/** What the runner has started for every scenario. */
export interface BenchEnv {
  /** A `concord dev` deployment with one region, logging at warn. */
  dev: DevDeployment;
  region: string;
  credentials: Credentials;
  /** The bare node:http server of bench/ceiling-server.ts. */
  ceilingUrl: string;
  ceilingPid: number;
  /** The log level the deployments of the run log at. */
  logLevel: string;
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
  /** What the second target of the scenario is, when not the bare ceiling server. */
  baseline?: string;
  prepare(env: BenchEnv): Promise<PreparedScenario>;
}

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
