import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService, type Caller } from '../kms/index.ts';
import { Outbox } from '../outbox/index.ts';
import { SqliteStore } from '../store/index.ts';
import { KeyProtectService } from './key-protect-service.ts';

export const TEST_ACCOUNT = '111122223333';
export const testCaller = (user: string): Caller => ({ account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/${user}` });

/**
 * For unit tests: Key Protect over a KeyService in us-east-1 on a fresh SQLite file and software
 * crypto unit, its clock moved by `clock.now`, each principal allowed the actions given. Close
 * its store when done.
 */
export function testKeyProtect(
  name: string,
  principals: { caller: Caller; actions: string[] }[],
  options: { syncIntervalMs?: number } = {},
): { store: SqliteStore; service: KeyService; outbox: Outbox; kp: KeyProtectService; clock: { now: number } } {
  const dir = mkdtempSync(join(tmpdir(), `concord-${name}-`));
  const store = new SqliteStore(join(dir, 'keys.db'));
  const clock = { now: Date.UTC(2026, 0, 1) };
  const service = new KeyService({
    region: 'us-east-1',
    account: TEST_ACCOUNT,
    store,
    unit: SoftwareCryptoUnit.openOrInit(join(dir, 'crypto-unit.json')),
    now: () => clock.now,
    principals: principals.map(({ caller, actions }) => ({
      arn: caller.arn,
      identityPolicies: [{ Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }],
    })),
  });
  const outbox = new Outbox(store, pino({ level: 'silent' }));
  const kp = new KeyProtectService({ service, outbox, log: pino({ level: 'silent' }), ...options });
  service.events.subscribe(kp.subscriber);
  return { store, service, outbox, kp, clock };
}
