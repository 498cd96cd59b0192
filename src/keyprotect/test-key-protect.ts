// The Key Protect module of a region on a fresh SQLite store (or one given), for the module's unit tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SoftwareCryptoUnit } from '../cryptounits/index.ts';
import { KeyService, type Caller } from '../kms/index.ts';
import { Outbox } from '../outbox/index.ts';
import { SqliteStore, type Store } from '../store/index.ts';
import { KeyProtectService, type KeyProtectServiceOptions } from './key-protect-service.ts';

export const TEST_ACCOUNT = '111122223333';
export const testCaller = (user: string): Caller => ({ account: TEST_ACCOUNT, arn: `arn:aws:iam::${TEST_ACCOUNT}:user/${user}` });

/**
 * A region of account TEST_ACCOUNT in us-east-1, each principal allowed the actions given, on
 * `given` or a fresh SQLite store and software crypto unit; its clock is `clock.now`, which tests
 * move. Tests that read what is queued close its outbox first, so that it keeps it.
 */
export function testKeyProtect(principals: { caller: Caller; actions: string[] }[], options: Partial<KeyProtectServiceOptions> = {}, given?: Store) {
  const dir = mkdtempSync(join(tmpdir(), 'concord-kp-'));
  const store = given ?? new SqliteStore(join(dir, 'keys.db'));
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
